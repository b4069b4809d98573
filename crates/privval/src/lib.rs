//! CometBFT privval wire protocol: messages per CometBFT line, framing, sign bytes.

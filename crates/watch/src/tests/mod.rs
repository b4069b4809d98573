//! Tests that cross rooms: the Cosmos SDK path from REST to rules and page, and
//! checks with outside tools (promtool, node_exporter, amtool).

mod external;
mod sdk;

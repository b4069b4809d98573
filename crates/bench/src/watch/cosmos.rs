//! The little Cosmos SDK a replayed chain needs to answer tenderduty: a validator's
//! `valcons` address (bech32) and the two slashing ABCI queries it makes, in protobuf.
//! The recorded devnet runs CometBFT's kvstore app, which has no such modules, so these
//! answers are made here: signing info with no misses, and a 10,000-block window.
//! Bech32 is the watch's own ([`::watch::bech32`]).

/// The `cosmosvalcons` address of a consensus address given in hex.
pub fn valcons(hex_address: &str) -> String {
    let bytes = ::watch::bech32::hex_bytes(hex_address).unwrap_or_default();
    ::watch::bech32::encode("cosmosvalcons", &bytes)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(tag: u64, v: u64, out: &mut Vec<u8>) {
    varint(tag << 3, out);
    varint(v, out);
}

fn field_bytes(tag: u64, b: &[u8], out: &mut Vec<u8>) {
    varint((tag << 3) | 2, out);
    varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

/// `QuerySigningInfoResponse` for `valcons`: in the set since height 1, never jailed,
/// not tombstoned, no blocks missed.
pub fn signing_info(valcons: &str) -> Vec<u8> {
    let mut info = Vec::new();
    field_bytes(1, valcons.as_bytes(), &mut info);
    field_varint(2, 1, &mut info);
    field_bytes(4, &[], &mut info);
    let mut out = Vec::new();
    field_bytes(1, &info, &mut out);
    out
}

/// `QueryParamsResponse` of x/slashing: a 10,000-block window, 50% to be signed,
/// 10 minutes in jail.
pub fn slashing_params() -> Vec<u8> {
    let mut jail = Vec::new();
    field_varint(1, 600, &mut jail);
    let mut p = Vec::new();
    field_varint(1, 10_000, &mut p);
    field_bytes(2, b"500000000000000000", &mut p);
    field_bytes(3, &jail, &mut p);
    field_bytes(4, b"50000000000000000", &mut p);
    field_bytes(5, b"10000000000000000", &mut p);
    let mut out = Vec::new();
    field_bytes(1, &p, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bech32_matches_the_bip173_vector() {
        // BIP-173: the empty data part under "a".
        assert_eq!(::watch::bech32::encode("a", &[]), "a12uel5l");
    }

    #[test]
    fn valcons_of_twenty_bytes() {
        let v = valcons("0000000000000000000000000000000000000000");
        assert!(v.starts_with("cosmosvalcons1"));
        assert_eq!(v.len(), "cosmosvalcons1".len() + 32 + 6);
    }
}

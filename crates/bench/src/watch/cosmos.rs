//! The little Cosmos SDK a replayed chain needs to answer tenderduty: a validator's
//! `valcons` address (bech32) and the two slashing ABCI queries it makes, in protobuf.
//! The recorded devnet runs CometBFT's kvstore app, which has no such modules, so these
//! answers are made here: signing info with no misses, and a 10,000-block window. The
//! REST API of the replayed chains ([`super::rest`]) answers with the same values.
//! Bech32 is the watch's own ([`::watch::bech32`]).

/// Blocks in the slashing window of every replayed chain.
pub const SIGNED_BLOCKS_WINDOW: u64 = 10_000;
/// Share of the window a validator must sign, as the SDK writes a `LegacyDec` in JSON.
pub const MIN_SIGNED_PER_WINDOW: &str = "0.500000000000000000";
/// Seconds in jail after downtime.
pub const DOWNTIME_JAIL_SECONDS: u64 = 600;
/// Share slashed for a double sign.
pub const SLASH_FRACTION_DOUBLE_SIGN: &str = "0.050000000000000000";
/// Share slashed for downtime.
pub const SLASH_FRACTION_DOWNTIME: &str = "0.010000000000000000";

/// The bech32 form under `prefix` of an address given in hex.
pub fn bech32_of_hex(prefix: &str, hex_address: &str) -> String {
    let bytes = ::watch::bech32::hex_bytes(hex_address).unwrap_or_default();
    ::watch::bech32::encode(prefix, &bytes)
}

/// The `cosmosvalcons` address of a consensus address given in hex.
pub fn valcons(hex_address: &str) -> String {
    bech32_of_hex("cosmosvalcons", hex_address)
}

/// A `LegacyDec` as protobuf carries it: its value times 10^18, in digits
/// (`"0.050000000000000000"` is `"50000000000000000"`).
fn dec_proto(dec: &str) -> Vec<u8> {
    let digits: String = dec.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        b"0".to_vec()
    } else {
        digits.as_bytes().to_vec()
    }
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
    field_varint(1, DOWNTIME_JAIL_SECONDS, &mut jail);
    let mut p = Vec::new();
    field_varint(1, SIGNED_BLOCKS_WINDOW, &mut p);
    field_bytes(2, &dec_proto(MIN_SIGNED_PER_WINDOW), &mut p);
    field_bytes(3, &jail, &mut p);
    field_bytes(4, &dec_proto(SLASH_FRACTION_DOUBLE_SIGN), &mut p);
    field_bytes(5, &dec_proto(SLASH_FRACTION_DOWNTIME), &mut p);
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
    fn decimals_go_into_protobuf_as_their_digits() {
        assert_eq!(dec_proto(MIN_SIGNED_PER_WINDOW), b"500000000000000000");
        assert_eq!(dec_proto(SLASH_FRACTION_DOUBLE_SIGN), b"50000000000000000");
        assert_eq!(dec_proto(SLASH_FRACTION_DOWNTIME), b"10000000000000000");
        assert_eq!(dec_proto("0.000000000000000000"), b"0");
    }

    #[test]
    fn valcons_of_twenty_bytes() {
        let v = valcons("0000000000000000000000000000000000000000");
        assert!(v.starts_with("cosmosvalcons1"));
        assert_eq!(v.len(), "cosmosvalcons1".len() + 32 + 6);
    }
}

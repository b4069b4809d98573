//! The little Cosmos SDK a replayed chain needs to answer tenderduty: a validator's
//! `valcons` address (bech32) and the two slashing ABCI queries it makes, in protobuf.
//! The recorded devnet runs CometBFT's kvstore app, which has no such modules, so these
//! answers are made here: signing info with no misses, and a 10,000-block window.

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk = 1u32;
    for v in values {
        let b = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ u32::from(*v);
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// BIP-173 bech32 of `data` under `hrp`.
pub fn bech32(hrp: &str, data: &[u8]) -> String {
    let mut five = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in data {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            five.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        five.push(((acc << (5 - bits)) & 31) as u8);
    }
    let mut values: Vec<u8> = hrp.bytes().map(|c| c >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|c| c & 31));
    values.extend(&five);
    values.extend([0u8; 6]);
    let m = polymod(&values) ^ 1;
    let mut out = format!("{hrp}1");
    for v in five {
        out.push(CHARSET[usize::from(v)] as char);
    }
    for i in 0..6 {
        out.push(CHARSET[((m >> (5 * (5 - i))) & 31) as usize] as char);
    }
    out
}

/// The `cosmosvalcons` address of a consensus address given in hex.
pub fn valcons(hex_address: &str) -> String {
    let bytes: Vec<u8> = (0..hex_address.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex_address[2 * i..2 * i + 2], 16).ok())
        .collect();
    bech32("cosmosvalcons", &bytes)
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
        assert_eq!(bech32("a", &[]), "a12uel5l");
    }

    #[test]
    fn valcons_of_twenty_bytes() {
        let v = valcons("0000000000000000000000000000000000000000");
        assert!(v.starts_with("cosmosvalcons1"));
        assert_eq!(v.len(), "cosmosvalcons1".len() + 32 + 6);
    }
}

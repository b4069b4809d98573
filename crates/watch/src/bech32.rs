//! Bech32 (BIP-173), the text form of Cosmos SDK addresses (`cosmosvaloper1...`,
//! `cosmosvalcons1...`): a human-readable prefix, the separator `1`, the data in a
//! 32-character alphabet and a 6-character checksum.

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR: [u32; 5] = [
    0x3b6a_57b2,
    0x2650_8e6d,
    0x1ea1_19fa,
    0x3d42_33dd,
    0x2a14_62b3,
];

/// Why a string is not a bech32 address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Bech32Error {
    /// Upper and lower case mixed.
    #[error("mixes upper and lower case")]
    MixedCase,
    /// No `1` separating prefix and data, or an empty prefix.
    #[error("has no prefix before the separator '1'")]
    NoSeparator,
    /// Too short to hold a checksum.
    #[error("is too short")]
    TooShort,
    /// A character outside the alphabet.
    #[error("has a character that bech32 does not use: {0:?}")]
    BadChar(char),
    /// The checksum does not match (a typo, or a cut address).
    #[error("has a wrong checksum (a typo?)")]
    Checksum,
    /// The data does not end on a whole byte.
    #[error("has bad padding")]
    Padding,
}

fn polymod(values: impl IntoIterator<Item = u8>) -> u32 {
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GENERATOR.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> Vec<u8> {
    let b = hrp.as_bytes();
    let mut out: Vec<u8> = b.iter().map(|c| c >> 5).collect();
    out.push(0);
    out.extend(b.iter().map(|c| c & 31));
    out
}

/// Regroup bits: `from`-bit groups to `to`-bit groups.
fn convert(data: &[u8], from: u32, to: u32, pad: bool) -> Result<Vec<u8>, Bech32Error> {
    let (mut acc, mut bits) = (0u32, 0u32);
    let max = (1u32 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        acc = (acc << from) | u32::from(v);
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & max) as u8);
        }
    }
    if pad {
        if bits > 0 {
            out.push(((acc << (to - bits)) & max) as u8);
        }
    } else if bits >= from || ((acc << (to - bits)) & max) != 0 {
        return Err(Bech32Error::Padding);
    }
    Ok(out)
}

/// `hrp` (lower case) and `data` as a bech32 string.
pub fn encode(hrp: &str, data: &[u8]) -> String {
    let hrp = hrp.to_ascii_lowercase();
    let five = convert(data, 8, 5, true).expect("padding is allowed when encoding");
    let mut values = hrp_expand(&hrp);
    values.extend(&five);
    values.extend([0u8; 6]);
    let check = polymod(values) ^ 1;
    let mut s = hrp;
    s.push('1');
    for v in &five {
        s.push(CHARSET[*v as usize] as char);
    }
    for i in 0..6 {
        s.push(CHARSET[((check >> (5 * (5 - i))) & 31) as usize] as char);
    }
    s
}

/// The prefix (lower case) and the bytes of a bech32 string.
pub fn decode(s: &str) -> Result<(String, Vec<u8>), Bech32Error> {
    let has_lower = s.chars().any(|c| c.is_ascii_lowercase());
    let has_upper = s.chars().any(|c| c.is_ascii_uppercase());
    if has_lower && has_upper {
        return Err(Bech32Error::MixedCase);
    }
    let s = s.to_ascii_lowercase();
    let pos = s.rfind('1').ok_or(Bech32Error::NoSeparator)?;
    if pos == 0 {
        return Err(Bech32Error::NoSeparator);
    }
    let (hrp, rest) = (&s[..pos], &s[pos + 1..]);
    if rest.len() < 6 {
        return Err(Bech32Error::TooShort);
    }
    if let Some(c) = hrp.chars().find(|c| !(33..=126).contains(&(*c as u32))) {
        return Err(Bech32Error::BadChar(c));
    }
    let mut five = Vec::with_capacity(rest.len());
    for c in rest.chars() {
        let v = CHARSET
            .iter()
            .position(|x| *x as char == c)
            .ok_or(Bech32Error::BadChar(c))?;
        five.push(v as u8);
    }
    let mut values = hrp_expand(hrp);
    values.extend(&five);
    if polymod(values) != 1 {
        return Err(Bech32Error::Checksum);
    }
    let data = convert(&five[..five.len() - 6], 5, 8, false)?;
    Ok((hrp.to_string(), data))
}

/// Bytes of a hex string (either case).
pub fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

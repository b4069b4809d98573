//! Values derived from the chain's parameters and settings.

use crate::config::ChainConfig;

/// Misses allowed in a window: `window - round(min_signed * window)`, rounding half to
/// even on the exact decimal as the chain does. `None` when `min_signed` is not a
/// decimal between 0 and 1.
pub fn allowed_missed(window: u64, min_signed: &str) -> Option<u64> {
    let fixed = share_18(min_signed)?;
    let product = fixed.checked_mul(u128::from(window))?;
    let (q, r) = (product / SCALE, product % SCALE);
    let signed = if r > SCALE / 2 || (r == SCALE / 2 && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    Some(window.saturating_sub(u64::try_from(signed).ok()?))
}

/// 10^18: the Cosmos SDK's `LegacyDec` precision.
const SCALE: u128 = 1_000_000_000_000_000_000;

/// A decimal between 0 and 1 as the chain writes it (`0.050000000000000000`), times
/// 10^18; `None` when it is not one.
pub(crate) fn share_18(s: &str) -> Option<u128> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || frac.len() > 18
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int: u128 = int.parse().ok()?;
    let frac: u128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<18}").parse().ok()?
    };
    let fixed = int.checked_mul(SCALE)?.checked_add(frac)?;
    (fixed <= SCALE).then_some(fixed)
}

/// `ceil(share * n)` for a share from [`share_18`].
pub(crate) fn ceil_share(share: u128, n: u64) -> Option<u64> {
    let product = share.checked_mul(u128::from(n))?;
    u64::try_from(product.div_ceil(SCALE)).ok()
}

/// The chain's account prefix (`cosmos`): `bech32_prefix`, or the operator address's
/// prefix without `valoper`.
pub fn account_prefix(c: &ChainConfig) -> Option<String> {
    if let Some(p) = &c.bech32_prefix {
        return Some(p.clone());
    }
    let (hrp, _) = crate::bech32::decode(c.operator_address.as_deref()?).ok()?;
    hrp.strip_suffix("valoper")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// Our consensus address in bech32 (`<prefix>valcons1...`) from the hex
/// `validator_address`, when the prefix is known.
pub fn consensus_address(c: &ChainConfig) -> Option<String> {
    let bytes = crate::bech32::hex_bytes(c.validator_address.as_deref()?)?;
    Some(crate::bech32::encode(
        &format!("{}valcons", account_prefix(c)?),
        &bytes,
    ))
}

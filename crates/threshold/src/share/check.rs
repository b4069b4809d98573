//! The arithmetic behind a share file's checks: Ed25519 points and scalars (curve25519-dalek's
//! types, as frost-ed25519 exposes them) and Lagrange interpolation of points.
//!
//! The verifying shares of a t-of-n split are `Y_i = f(i)·B` for one polynomial `f` of
//! degree t-1 whose constant term is the secret, so that `Y_0 = f(0)·B` is the group key.
//! Any t of the points fix the polynomial; every other point must lie on it.

use frost_ed25519::{Ed25519Group, Ed25519ScalarField, Field, Group};

/// A scalar mod the group order.
pub(crate) type Scalar = <Ed25519ScalarField as Field>::Scalar;
/// A point of the Ed25519 curve.
pub(crate) type Point = <Ed25519Group as Group>::Element;

/// The point a 32-byte encoding names, if it is on the curve, encoded canonically, not the
/// identity and in the prime-order subgroup.
pub(crate) fn point(bytes: &[u8; 32]) -> Option<Point> {
    let p = Ed25519Group::deserialize(bytes).ok()?;
    (Ed25519Group::serialize(&p).ok()? == *bytes).then_some(p)
}

/// The value at `x` of the polynomial of degree `known.len() - 1` through the points
/// `known` (pairs of x and `f(x)·B`, distinct x).
pub(crate) fn interpolate(known: &[(u16, Point)], x: u16) -> Point {
    let at = |v: u16| Scalar::from(u64::from(v));
    known
        .iter()
        .fold(Ed25519Group::identity(), |sum, &(xi, yi)| {
            let (num, den) = known.iter().filter(|(xj, _)| *xj != xi).fold(
                (Ed25519ScalarField::one(), Ed25519ScalarField::one()),
                |(num, den), &(xj, _)| (num * (at(x) - at(xj)), den * (at(xi) - at(xj))),
            );
            sum + yi * (num * den.invert())
        })
}

/// How the verifying shares disagree with each other or with the group key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Inconsistency {
    /// These ids (above the threshold) are off the polynomial through ids 1..=t.
    OffPolynomial(Vec<u16>),
    /// The shares agree with each other, but their polynomial's value at 0 is not the
    /// group key.
    GroupKey,
}

/// Check that `shares` (ids 1..=n in order, n >= t) lie on one polynomial of degree t-1
/// whose value at 0 is `group`.
pub(crate) fn polynomial(
    threshold: u16,
    group: &Point,
    shares: &[(u16, Point)],
) -> Result<(), Inconsistency> {
    let (base, rest) = shares.split_at(usize::from(threshold));
    let off: Vec<u16> = rest
        .iter()
        .filter(|(x, y)| interpolate(base, *x) != *y)
        .map(|(x, _)| *x)
        .collect();
    if !off.is_empty() {
        return Err(Inconsistency::OffPolynomial(off));
    }
    if interpolate(base, 0) != *group {
        return Err(Inconsistency::GroupKey);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b() -> Point {
        Ed25519Group::generator()
    }

    /// Points of f(x) = 5 + 3x + 2x^2 (degree 2, threshold 3) at 0..=5.
    fn points() -> Vec<(u16, Point)> {
        (0u16..=5)
            .map(|x| {
                let x64 = u64::from(x);
                (x, b() * Scalar::from(5 + 3 * x64 + 2 * x64 * x64))
            })
            .collect()
    }

    #[test]
    fn any_threshold_points_give_the_others() {
        let p = points();
        let some = [p[2], p[4], p[5]];
        for (x, y) in &p {
            assert_eq!(interpolate(&some, *x), *y, "at {x}");
        }
        assert_eq!(polynomial(3, &p[0].1, &p[1..]), Ok(()));
    }

    #[test]
    fn a_point_off_the_polynomial_or_a_wrong_group_key_is_named() {
        let p = points();
        let mut shares = p[1..].to_vec();
        shares[3].1 += b();
        assert_eq!(
            polynomial(3, &p[0].1, &shares),
            Err(Inconsistency::OffPolynomial(vec![4]))
        );
        assert_eq!(
            polynomial(3, &(p[0].1 + b()), &p[1..]),
            Err(Inconsistency::GroupKey)
        );
        // Degree 2 is not degree 1: with threshold 2 the third point is off the line.
        assert_eq!(
            polynomial(2, &p[0].1, &p[1..]),
            Err(Inconsistency::OffPolynomial(vec![3, 4, 5]))
        );
    }

    #[test]
    fn only_canonical_prime_order_points_are_accepted() {
        let g = Ed25519Group::serialize(&b()).unwrap();
        assert!(point(&g).is_some());
        // The identity, a small-order point, a mixed-order point, and garbage.
        let identity = {
            let mut e = [0u8; 32];
            e[0] = 1;
            e
        };
        assert!(point(&identity).is_none());
        let order_two = {
            let mut e = [0u8; 32];
            e[0] = 0xec;
            e[1..31].fill(0xff);
            e[31] = 0x7f;
            e
        };
        assert!(point(&order_two).is_none());
        assert!(point(&[0xff; 32]).is_none());
    }
}

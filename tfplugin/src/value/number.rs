//! Arbitrary-precision numbers as Terraform (go-cty, big.Float) sees them.
//!
//! Every numeric value has exactly one representation (see [`Repr`]), so
//! equality and hashing are cheap while still being by numeric value: `1`,
//! `1.0` and `"1e0"` are the same `Number`. Floats are taken at their exact
//! binary value, as go-cty does: `Number::from(0.1)` is not equal to the
//! decimal `0.1` (which Terraform sends as the string `"0.1"`), and keeping
//! them apart is what lets a provider echo back precisely what it was given.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::ValueError;

/// Exponents beyond this are rejected, which keeps all exponent arithmetic
/// far from overflow (go-cty's big.Float has a similar, smaller, limit).
const MAX_EXP: i64 = 1 << 40;

/// A Terraform number: integer, float or decimal of any size.
#[derive(Clone, Debug)]
pub struct Number(Repr);

#[derive(Clone, Debug)]
enum Repr {
    Int(i64),
    /// Only values above `i64::MAX`.
    UInt(u64),
    /// Never NaN, never an integer that fits `Int`/`UInt`; may be infinite.
    Float(f64),
    /// Finite values no other variant can hold exactly.
    Big(Decimal),
}

/// How a number goes on the wire; see `msgpack.rs`.
pub(super) enum WireNumber<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    Decimal(&'a Decimal),
}

impl Number {
    /// `None` for NaN, which Terraform numbers cannot hold.
    pub fn from_f64(x: f64) -> Option<Number> {
        if x.is_nan() {
            return None;
        }
        // 2^63 and 2^64 are exact in f64, so these range checks are exact.
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        const TWO_64: f64 = 18_446_744_073_709_551_616.0;
        if x.fract() == 0.0 && x.is_finite() {
            if (-TWO_63..TWO_63).contains(&x) {
                return Some(Number(Repr::Int(x as i64)));
            }
            if (TWO_63..TWO_64).contains(&x) {
                return Some(Number(Repr::UInt(x as u64)));
            }
        }
        Some(Number(Repr::Float(x)))
    }

    /// Parses a decimal such as `-12`, `0.5`, `1e400` or
    /// `123456789012345678901234567890`; also `inf` / `-inf`.
    pub fn parse(s: &str) -> Result<Number, ValueError> {
        let bad = || ValueError::msg(format!("invalid number {:?}", truncate(s)));
        let t = s.trim_start_matches(['+', '-']);
        if t.len() + 1 >= s.len()
            && (t.eq_ignore_ascii_case("inf") || t.eq_ignore_ascii_case("infinity"))
        {
            let inf = if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            return Ok(Number(Repr::Float(inf)));
        }
        Decimal::parse(s).map(Number::from_decimal).ok_or_else(bad)
    }

    /// Picks the one representation for a decimal value.
    fn from_decimal(d: Decimal) -> Number {
        if d.digits.is_empty() {
            return Number(Repr::Int(0));
        }
        let adjusted = d.adjusted();
        if d.exp >= 0 && adjusted <= 20 {
            // At most 20 digits: fits u128 without overflow.
            let mut v: u128 = 0;
            for c in &d.digits {
                v = v * 10 + u128::from(c - b'0');
            }
            for _ in 0..d.exp {
                v *= 10;
            }
            if d.neg {
                if v <= i64::MAX as u128 + 1 {
                    return Number(Repr::Int((-(v as i128)) as i64));
                }
            } else if v <= i64::MAX as u128 {
                return Number(Repr::Int(v as i64));
            } else if v <= u64::MAX as u128 {
                return Number(Repr::UInt(v as u64));
            }
        }
        // An f64's exact expansion has at most 767 significant digits and its
        // magnitude lies within 1e-324..1e309.
        if d.digits.len() <= 800 && (-330..=310).contains(&adjusted) {
            let text = format!(
                "{}{}e{}",
                if d.neg { "-" } else { "" },
                ascii(&d.digits),
                d.exp
            );
            if let Ok(x) = text.parse::<f64>()
                && x.is_finite()
                && x != 0.0
                && Decimal::from_f64(x) == d
            {
                return Number(Repr::Float(x));
            }
        }
        Number(Repr::Big(d))
    }

    /// The value as an i64, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The value as a u64, if it is an integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match self.0 {
            Repr::Int(i) => u64::try_from(i).ok(),
            Repr::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// Nearest f64 (big values may round to infinity).
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            Repr::Int(i) => *i as f64,
            Repr::UInt(u) => *u as f64,
            Repr::Float(x) => *x,
            Repr::Big(d) => d.to_string().parse().unwrap_or(f64::NAN),
        }
    }

    /// Whether the value is a whole number.
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) | Repr::UInt(_) => true,
            Repr::Float(x) => x.is_finite() && x.fract() == 0.0,
            Repr::Big(d) => d.exp >= 0,
        }
    }

    /// Whether the value is not infinite.
    pub fn is_finite(&self) -> bool {
        !matches!(self.0, Repr::Float(x) if x.is_infinite())
    }

    /// The exact decimal value, or `None` for infinities. Unlike `Display`
    /// (which shows floats in their shortest form), parsing this back gives an
    /// equal `Number`; JSON encoding uses it for that reason.
    pub fn to_exact_string(&self) -> Option<String> {
        match &self.0 {
            Repr::Float(x) if x.is_infinite() => None,
            Repr::Float(x) => Some(Decimal::from_f64(*x).to_string()),
            _ => Some(self.to_string()),
        }
    }

    pub(super) fn wire(&self) -> WireNumber<'_> {
        match &self.0 {
            Repr::Int(i) => WireNumber::Int(*i),
            Repr::UInt(u) => WireNumber::UInt(*u),
            Repr::Float(x) => WireNumber::Float(*x),
            Repr::Big(d) => WireNumber::Decimal(d),
        }
    }

    /// `None` for infinities.
    fn to_decimal(&self) -> Option<Decimal> {
        match &self.0 {
            Repr::Int(i) => Decimal::parse(&i.to_string()),
            Repr::UInt(u) => Decimal::parse(&u.to_string()),
            Repr::Float(x) if x.is_infinite() => None,
            Repr::Float(x) => Some(Decimal::from_f64(*x)),
            Repr::Big(d) => Some(d.clone()),
        }
    }

    fn infinity_sign(&self) -> i8 {
        match self.0 {
            Repr::Float(x) if x == f64::INFINITY => 1,
            Repr::Float(x) if x == f64::NEG_INFINITY => -1,
            _ => 0,
        }
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        use Repr::*;
        match (&self.0, &other.0) {
            (Int(a), Int(b)) => a.cmp(b),
            (UInt(a), UInt(b)) => a.cmp(b),
            (Int(_), UInt(_)) => Ordering::Less,
            (UInt(_), Int(_)) => Ordering::Greater,
            // No NaN and no -0.0 (normalised to Int(0)), so total_cmp is numeric.
            (Float(a), Float(b)) => a.total_cmp(b),
            _ => {
                let (sa, sb) = (self.infinity_sign(), other.infinity_sign());
                if sa != 0 || sb != 0 {
                    return sa.cmp(&sb);
                }
                match (self.to_decimal(), other.to_decimal()) {
                    (Some(a), Some(b)) => a.cmp(&b),
                    _ => Ordering::Equal, // unreachable: infinities handled above
                }
            }
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Number {}

impl Hash for Number {
    // Representations are unique per value, so hashing the representation
    // agrees with numeric equality.
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Repr::Int(i) => (0u8, *i).hash(state),
            Repr::UInt(u) => (1u8, *u).hash(state),
            Repr::Float(x) => (2u8, x.to_bits()).hash(state),
            Repr::Big(d) => (3u8, d).hash(state),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::UInt(u) => write!(f, "{u}"),
            Repr::Float(x) if x.is_infinite() => f.write_str(if *x > 0.0 { "inf" } else { "-inf" }),
            // Shortest text that reads back as the same f64.
            Repr::Float(x) => write!(f, "{x}"),
            Repr::Big(d) => write!(f, "{d}"),
        }
    }
}

impl FromStr for Number {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Number(Repr::Int(i))
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Self {
        Number(Repr::Int(i64::from(i)))
    }
}

impl From<u32> for Number {
    fn from(u: u32) -> Self {
        Number(Repr::Int(i64::from(u)))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Self {
        match i64::try_from(u) {
            Ok(i) => Number(Repr::Int(i)),
            Err(_) => Number(Repr::UInt(u)),
        }
    }
}

impl From<usize> for Number {
    fn from(u: usize) -> Self {
        Number::from(u as u64)
    }
}

impl From<f64> for Number {
    /// # Panics
    /// On NaN, which no Terraform number can be (go-cty panics too); use
    /// [`Number::from_f64`] for untrusted floats.
    fn from(x: f64) -> Self {
        match Number::from_f64(x) {
            Some(n) => n,
            None => panic!("NaN is not a valid Terraform number"),
        }
    }
}

/// `±digits × 10^exp`, digits ASCII with no leading or trailing zeros; zero
/// has no digits. Canonical, so derived equality is numeric equality.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

fn ascii(d: &[u8]) -> &str {
    // Digits are ASCII by construction.
    std::str::from_utf8(d).unwrap_or("")
}

impl Decimal {
    fn zero() -> Decimal {
        Decimal {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    /// Position of the decimal point relative to the first digit.
    fn adjusted(&self) -> i64 {
        self.digits.len() as i64 + self.exp
    }

    /// `[+-]digits[.digits][e[+-]digits]`, also `.5` and `5.`.
    fn parse(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let mut i = 0;
        let neg = match b.first() {
            Some(b'-') => {
                i = 1;
                true
            }
            Some(b'+') => {
                i = 1;
                false
            }
            _ => false,
        };
        let mut digits = Vec::new();
        let mut frac_len: i64 = 0;
        let (mut seen_digit, mut seen_dot) = (false, false);
        while let Some(&c) = b.get(i) {
            match c {
                b'0'..=b'9' => {
                    seen_digit = true;
                    if !(digits.is_empty() && c == b'0') {
                        digits.push(c);
                    }
                    if seen_dot {
                        frac_len += 1;
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => break,
            }
            i += 1;
        }
        if !seen_digit {
            return None;
        }
        let mut e: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let eneg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                e = e.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
                if e > MAX_EXP {
                    return None;
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            if eneg {
                e = -e;
            }
        }
        if i != b.len() {
            return None;
        }
        if digits.is_empty() {
            return Some(Decimal::zero());
        }
        let trailing = digits.iter().rev().take_while(|&&c| c == b'0').count();
        digits.truncate(digits.len() - trailing);
        let exp = e.checked_sub(frac_len)?.checked_add(trailing as i64)?;
        if !(-MAX_EXP..=MAX_EXP).contains(&exp) {
            return None;
        }
        Some(Decimal { neg, digits, exp })
    }

    /// The exact value of a finite f64 (every binary fraction is a finite
    /// decimal: m·2^-k = m·5^k·10^-k).
    fn from_f64(x: f64) -> Decimal {
        let bits = x.to_bits();
        let neg = bits >> 63 != 0;
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (mut m, mut e) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), biased - 1075)
        };
        if m == 0 || !x.is_finite() {
            return Decimal::zero();
        }
        let tz = m.trailing_zeros();
        m >>= tz;
        e += i64::from(tz);
        let mut big = BigDigits::from_u64(m);
        let exp = if e >= 0 {
            big.mul_pow(2, e as u32);
            0
        } else {
            big.mul_pow(5, (-e) as u32);
            e
        };
        let mut digits = big.to_ascii();
        let trailing = digits.iter().rev().take_while(|&&c| c == b'0').count();
        digits.truncate(digits.len() - trailing);
        Decimal {
            neg,
            digits,
            exp: exp + trailing as i64,
        }
    }

    fn sign(&self) -> i8 {
        match (self.digits.is_empty(), self.neg) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        self.adjusted()
            .cmp(&other.adjusted())
            // No trailing zeros, so plain lexicographic order is numeric.
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let (sa, sb) = (self.sign(), other.sign());
        if sa != sb {
            return sa.cmp(&sb);
        }
        match sa {
            0 => Ordering::Equal,
            1 => self.cmp_magnitude(other),
            _ => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    /// Plain notation for moderate exponents, scientific beyond; both are
    /// valid JSON numbers and parse with Go's big.Float.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits.is_empty() {
            return f.write_str("0");
        }
        if self.neg {
            f.write_str("-")?;
        }
        let d = ascii(&self.digits);
        let adjusted = self.adjusted();
        if self.exp >= 0 && adjusted <= 40 {
            write!(f, "{d}{}", "0".repeat(self.exp as usize))
        } else if self.exp < 0 && adjusted > 0 {
            let (int, frac) = d.split_at(adjusted as usize);
            write!(f, "{int}.{frac}")
        } else if self.exp < 0 && adjusted > -20 {
            write!(f, "0.{}{d}", "0".repeat((-adjusted) as usize))
        } else {
            let (first, rest) = d.split_at(1);
            if rest.is_empty() {
                write!(f, "{first}e{}", adjusted - 1)
            } else {
                write!(f, "{first}.{rest}e{}", adjusted - 1)
            }
        }
    }
}

/// Minimal unsigned bignum in base 10^9, just enough for f64 expansion.
struct BigDigits(Vec<u32>); // little-endian limbs

impl BigDigits {
    const BASE: u64 = 1_000_000_000;

    fn from_u64(mut v: u64) -> Self {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push((v % Self::BASE) as u32);
            v /= Self::BASE;
        }
        BigDigits(limbs)
    }

    fn mul_small(&mut self, k: u32) {
        let mut carry: u64 = 0;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(k) + carry;
            *limb = (v % Self::BASE) as u32;
            carry = v / Self::BASE;
        }
        while carry > 0 {
            self.0.push((carry % Self::BASE) as u32);
            carry /= Self::BASE;
        }
    }

    /// Multiplies by `base^n` (base 2 or 5), in chunks that fit a u32.
    fn mul_pow(&mut self, base: u32, mut n: u32) {
        let chunk = if base == 2 { 29 } else { 13 };
        while n > 0 {
            let step = n.min(chunk);
            self.mul_small(base.pow(step));
            n -= step;
        }
    }

    fn to_ascii(&self) -> Vec<u8> {
        let mut s = String::new();
        for (i, limb) in self.0.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&limb.to_string());
            } else {
                s.push_str(&format!("{limb:09}"));
            }
        }
        s.into_bytes()
    }
}

//! Just enough DER to read a certificate's validity and key, and a PKCS#12 file.
//! Every read is bounds-checked: the input is a file the user points at.

/// One element: its tag and contents.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// The whole element, tag and length included.
    pub whole: &'a [u8],
}

/// Reads elements one after another.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element, if well formed (definite lengths only).
    pub(crate) fn next(&mut self) -> Option<Tlv<'a>> {
        let b = self.rest;
        let tag = *b.first()?;
        let first = *b.get(1)? as usize;
        let (len, head) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *b.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let end = head.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        self.rest = &b[end..];
        Some(Tlv {
            tag,
            content: &b[head..end],
            whole: &b[..end],
        })
    }

    /// The next element, which must have this tag.
    pub(crate) fn expect(&mut self, tag: u8) -> Option<Tlv<'a>> {
        self.next().filter(|t| t.tag == tag)
    }

    /// The next element if it has this tag (an OPTIONAL field).
    pub(crate) fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        let mut peek = *self;
        let t = peek.next().filter(|t| t.tag == tag)?;
        *self = peek;
        Some(t)
    }
}

impl<'a> Tlv<'a> {
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader::new(self.content)
    }

    /// A small non-negative INTEGER.
    pub(crate) fn small_uint(&self) -> Option<u64> {
        if self.tag != INTEGER || self.content.is_empty() || self.content.len() > 8 {
            return None;
        }
        if self.content[0] & 0x80 != 0 {
            return None;
        }
        Some(
            self.content
                .iter()
                .fold(0u64, |n, b| (n << 8) | u64::from(*b)),
        )
    }

    /// The bytes of an OCTET STRING, primitive or (as some writers produce) constructed
    /// from primitive pieces.
    pub(crate) fn octets(&self) -> Option<Vec<u8>> {
        match self.tag {
            OCTET_STRING | 0x80 => Some(self.content.to_vec()),
            0x24 | 0xa0 => {
                let mut out = Vec::new();
                let mut r = self.reader();
                while !r.is_empty() {
                    out.extend_from_slice(r.expect(OCTET_STRING)?.content);
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// A UTCTime or GeneralizedTime ("…Z"), as Unix seconds.
    pub(crate) fn time(&self) -> Option<i64> {
        let s = std::str::from_utf8(self.content).ok()?;
        let s = s.strip_suffix('Z')?;
        let (year, rest) = match self.tag {
            UTC_TIME => {
                let yy: i64 = s.get(..2)?.parse().ok()?;
                // RFC 5280: 50–99 are 19xx, 00–49 are 20xx.
                (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
            }
            GENERALIZED_TIME => (s.get(..4)?.parse().ok()?, s.get(4..)?),
            _ => return None,
        };
        let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
        let (month, day, hour, minute) = (field(0)?, field(2)?, field(4)?, field(6)?);
        let second = field(8).unwrap_or(0);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "YYYY-MM-DD" of Unix seconds, for messages.
pub(crate) fn date(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The DER encoding of an OID's dotted form, for comparisons.
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut out = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut bytes = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            bytes.push(((rest & 0x7f) as u8) | 0x80);
            rest >>= 7;
        }
        bytes.reverse();
        out.extend(bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(days_from_civil(2024, 2, 29) * 86_400), "2024-02-29");
        let t = Tlv {
            tag: UTC_TIME,
            content: b"491231235959Z",
            whole: &[],
        };
        assert_eq!(date(t.time().unwrap()), "2049-12-31");
        let t = Tlv {
            tag: GENERALIZED_TIME,
            content: b"21250101000000Z",
            whole: &[],
        };
        assert_eq!(date(t.time().unwrap()), "2125-01-01");
    }

    #[test]
    fn oids_encode() {
        assert_eq!(
            oid("1.2.840.113549.1.7.1"),
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]
        );
    }

    #[test]
    fn truncated_input_is_none_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x01],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x80],
        ] {
            assert!(Reader::new(bad).next().is_none(), "{bad:?}");
        }
    }
}

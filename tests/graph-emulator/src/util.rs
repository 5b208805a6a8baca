//! Small helpers: clock, Graph's timestamp formats, percent-decoding, ids.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (the model stores times this way so that
/// persisted state and consistency windows survive restarts unchanged).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(ms: u64) -> (i64, u32, u32, u64, u64, u64, u64) {
    let secs = ms / 1000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (y, mo, d, rem / 3600, (rem % 3600) / 60, rem % 60, ms % 1000)
}

/// Graph entity timestamps: `2019-09-17T19:10:35.2742618Z` (seven fractional digits).
pub fn graph_time(ms: u64) -> String {
    let (y, mo, d, h, mi, s, frac) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}0000Z")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (inverse of `civil_from_days`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses Graph's timestamp (`2030-01-01T00:00:00Z`, optional fraction) to Unix ms.
pub fn parse_graph_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let n = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, sec) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let days = days_from_civil(y, mo, d);
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + sec)
        .ok()
        .map(|x| x * 1000)
}

/// `innerError.date`: no fractional seconds and no `Z` (msgraph-behaviour A6).
pub fn inner_error_date(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
}

/// Entra's OAuth error `timestamp`: `2025-02-13 10:17:06Z`.
pub fn aad_timestamp(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}

pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// Percent-decoding for paths, query strings and form bodies (`+` only when `plus`).
pub fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encoding for values placed into query strings (nextLink).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.bytes() {
        match c {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b'('
            | b')'
            | b','
            | b':' => out.push(c as char),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// `a=b&c=d` into ordered, decoded pairs.
pub fn parse_query(q: &str, plus: bool) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k, plus), percent_decode(v, plus)),
            None => (percent_decode(p, plus), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_graph() {
        // 2019-09-17T19:10:35.274Z
        let ms = 1_568_747_435_274;
        assert_eq!(graph_time(ms), "2019-09-17T19:10:35.2740000Z");
        assert_eq!(inner_error_date(ms), "2019-09-17T19:10:35");
        assert_eq!(aad_timestamp(ms), "2019-09-17 19:10:35Z");
    }

    #[test]
    fn parses_graph_times() {
        let ms = 1_568_747_435_000;
        assert_eq!(parse_graph_time(&graph_time(ms)), Some(ms));
        assert_eq!(
            parse_graph_time("2030-01-01T00:00:00Z"),
            Some(1_893_456_000_000)
        );
        assert_eq!(parse_graph_time("soon"), None);
    }

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a%2", false), "a%2");
        assert_eq!(percent_decode("%27x%27", false), "'x'");
    }
}

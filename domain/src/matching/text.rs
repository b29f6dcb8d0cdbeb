//! Building the German explanations cheaply. Lead alerts score ~100k pairs at a time and `format!`
//! with its formatting machinery and reallocations was most of the cost, so sentences are assembled
//! from pieces pushed straight into one `String`, sized once from the pieces' length hints.

use chrono::{Datelike, NaiveDate};

/// Concatenates [`Piece`]s into a new `String`: `text!("DQR ", level, " statt DQR ", target)`.
/// Each piece is evaluated once.
macro_rules! text {
    ($($piece:expr),+ $(,)?) => {{
        let pieces: &[&dyn $crate::matching::text::Piece] = &[$(&$piece),+];
        $crate::matching::text::concat(pieces)
    }};
}
pub(super) use text;

/// Appends [`Piece`]s to a `String`: `push_text!(&mut out, " (maximal ", max, " km)")`.
macro_rules! push_text {
    ($out:expr, $($piece:expr),+ $(,)?) => {{
        let pieces: &[&dyn $crate::matching::text::Piece] = &[$(&$piece),+];
        $crate::matching::text::append($out, pieces)
    }};
}
pub(super) use push_text;

/// Something that can be appended to an explanation.
pub(super) trait Piece {
    fn push_to(&self, out: &mut String);
    /// At least the bytes `push_to` appends, so the string is allocated once.
    fn len_hint(&self) -> usize;
}

/// The pieces in one `String` of the right size.
pub(super) fn concat(pieces: &[&dyn Piece]) -> String {
    let mut out = String::new();
    append(&mut out, pieces);
    out
}

/// Appends the pieces, growing `out` at most once.
pub(super) fn append(out: &mut String, pieces: &[&dyn Piece]) {
    out.reserve(pieces.iter().map(|p| p.len_hint()).sum());
    for piece in pieces {
        piece.push_to(out);
    }
}

impl Piece for &str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }

    fn len_hint(&self) -> usize {
        self.len()
    }
}

impl Piece for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }

    fn len_hint(&self) -> usize {
        self.len()
    }
}

impl Piece for char {
    fn push_to(&self, out: &mut String) {
        out.push(*self);
    }

    fn len_hint(&self) -> usize {
        self.len_utf8()
    }
}

/// Integers in decimal, without grouping (counts, hours, km, levels, percentages).
macro_rules! integer_piece {
    ($($t:ty),+) => {$(
        impl Piece for $t {
            fn push_to(&self, out: &mut String) {
                push_integer(out, i64::from(*self));
            }

            fn len_hint(&self) -> usize {
                20
            }
        }
    )+};
}
integer_piece!(u8, i16, i32, i64);

impl Piece for usize {
    fn push_to(&self, out: &mut String) {
        push_digits(out, u64::try_from(*self).unwrap_or(u64::MAX), 1);
    }

    fn len_hint(&self) -> usize {
        20
    }
}

fn push_integer(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_digits(out, n.unsigned_abs(), 1);
}

/// Decimal digits of `n`, zero-padded to at least `width` (64-bit: `u128` division is slow).
fn push_digits(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut start = buf.len();
    while n > 0 || buf.len() - start < width {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &b in &buf[start..] {
        out.push(char::from(b));
    }
}

/// Dates the way German users write them: 01.04.2025.
impl Piece for NaiveDate {
    fn push_to(&self, out: &mut String) {
        push_digits(out, u64::from(self.day()), 2);
        out.push('.');
        push_digits(out, u64::from(self.month()), 2);
        out.push('.');
        push_integer(out, i64::from(self.year()));
    }

    fn len_hint(&self) -> usize {
        11
    }
}

/// An amount in cents shown in euros: "1.250 €", cents only when there are some ("1.250,50 €").
pub(super) struct Euros(pub i64);

impl Piece for Euros {
    fn push_to(&self, out: &mut String) {
        if self.0 < 0 {
            out.push('-');
        }
        let cents = self.0.unsigned_abs();
        push_grouped(out, cents / 100);
        if !cents.is_multiple_of(100) {
            out.push(',');
            push_digits(out, cents % 100, 2);
        }
        out.push_str(" €");
    }

    fn len_hint(&self) -> usize {
        // "-92.233.720.368.547.758,08 €"
        30
    }
}

/// Thousands separated by dots, as in German.
fn push_grouped(out: &mut String, n: u64) {
    if n >= 1000 {
        push_grouped(out, n / 1000);
        out.push('.');
        push_digits(out, n % 1000, 3);
    } else {
        push_digits(out, n, 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pieces() {
        let date = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
        assert_eq!(
            text!("Start am ", date, ", ", 0u8, '/', -42i64, " ", usize::MAX),
            "Start am 01.04.2025, 0/-42 18446744073709551615"
        );
        assert_eq!(text!(String::from("a"), 7i16), "a7");
        let date = text!(NaiveDate::from_ymd_opt(-9999, 12, 31).unwrap());
        assert_eq!((date.as_str(), date.capacity()), ("31.12.-9999", 11));
    }

    #[test]
    fn euros() {
        let e = |cents| text!(Euros(cents));
        assert_eq!(e(0), "0 €");
        assert_eq!(e(99), "0,99 €");
        assert_eq!(e(105), "1,05 €");
        assert_eq!(e(125_000), "1.250 €");
        assert_eq!(e(100_000_000), "1.000.000 €");
        assert_eq!(e(123_456_789), "1.234.567,89 €");
        assert_eq!(e(-100_000), "-1.000 €");
        assert_eq!(e(i64::MIN), "-92.233.720.368.547.758,08 €");
        assert!(e(i64::MIN).len() <= Euros(i64::MIN).len_hint());
    }
}

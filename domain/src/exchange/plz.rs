//! German postal codes to coordinates, from the table shipped in `domain/data/plz.csv` (its README
//! says where it comes from): an imported venue gets the coordinates of its postal code, so radius
//! search and matching by distance work for it.

use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE: &str = include_str!("../../data/plz.csv");

/// A postal code's place: its centre and the place name the table gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub latitude: f64,
    pub longitude: f64,
    pub name: &'static str,
}

static PLACES: LazyLock<HashMap<u32, Place>> = LazyLock::new(|| {
    TABLE
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line.split(';');
            let code = cells.next()?.parse().ok()?;
            let latitude = cells.next()?.parse().ok()?;
            let longitude = cells.next()?.parse().ok()?;
            let name = cells.next().unwrap_or_default();
            Some((code, Place { latitude, longitude, name }))
        })
        .collect()
});

/// The place of a five-digit German postal code, if the table has it.
pub fn lookup(postal_code: &str) -> Option<Place> {
    let code = postal_code.trim();
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    PLACES.get(&code.parse().ok()?).copied()
}

/// How many postal codes the table holds.
pub fn len() -> usize {
    PLACES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_have_their_city_and_unknown_ones_none() {
        let leipzig = lookup("04109").expect("Leipzig");
        assert!((leipzig.latitude - 51.34).abs() < 0.05 && (leipzig.longitude - 12.37).abs() < 0.05);
        let munich = lookup("80331").expect("München");
        assert!((munich.latitude - 48.14).abs() < 0.05 && (munich.longitude - 11.57).abs() < 0.05);
        assert!(lookup("00000").is_none());
        assert!(lookup("1234").is_none());
        assert!(lookup("abcde").is_none());
        assert!(len() > 8_000, "{}", len());
    }
}

//! List-valued columns: JSON arrays in text columns, identical on SQLite and PostgreSQL.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn encode<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// A column that does not hold a JSON array reads as empty rather than failing the request.
pub fn decode<T: DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The serde name of a unit enum value, e.g. `AUFSTIEGS_BAFOEG`.
pub fn name<T: Serialize>(item: &T) -> String {
    serde_json::to_value(item).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The `LIKE` pattern that finds `item` in an encoded list. Items are enum names and language codes:
/// an `_` in them matches itself as a wildcard too, and SQLite has no default escape character.
pub fn like_pattern<T: Serialize>(item: &T) -> String {
    format!("%{}%", serde_json::to_string(item).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::course::FundingOption;

    #[test]
    fn round_trip_and_pattern() {
        let text = encode(&[FundingOption::Qcg, FundingOption::AufstiegsBafoeg]);
        assert_eq!(text, r#"["QCG","AUFSTIEGS_BAFOEG"]"#);
        assert_eq!(decode::<FundingOption>(&text), vec![FundingOption::Qcg, FundingOption::AufstiegsBafoeg]);
        assert_eq!(like_pattern(&FundingOption::Qcg), "%\"QCG\"%");
        assert!(decode::<String>("kaputt").is_empty());
    }
}

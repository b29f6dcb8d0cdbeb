//! Relay-style forward pagination over ids (UUID v7, so id order is creation order).

use async_graphql::connection::{Connection, Edge, EmptyFields};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;
/// Relevance-ordered lists page this deep at most (like Meilisearch's `maxTotalHits` guard).
pub const MAX_OFFSET: u64 = 10_000;

/// What a page of `first` nodes costs in the query complexity. `first` is capped at the page-size
/// limit here, so that too large a value is refused by the resolver as bad input on `first`
/// instead of making the whole query "too complex".
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let nodes = first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize;
    nodes * child_complexity + 1
}

/// A validated `first`/`after` pair.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl Page {
    pub fn parse(first: Option<i32>, after: Option<&str>) -> ApiResult<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(ApiError::bad_input("first", format!("first must be between 1 and {MAX_PAGE_SIZE}")));
        }
        let after = after.map(decode_cursor).transpose()?;
        Ok(Self { first: first as u64, after })
    }

    /// Builds the connection from up to `first + 1` rows fetched after the cursor.
    pub fn connection<M, N>(
        &self,
        mut rows: Vec<M>,
        id: impl Fn(&M) -> Uuid,
        node: impl Fn(M) -> N,
    ) -> Connection<String, N, EmptyFields, EmptyFields>
    where
        N: async_graphql::OutputType,
    {
        let has_next = rows.len() as u64 > self.first;
        rows.truncate(self.first as usize);
        let mut connection = Connection::new(self.after.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|row| Edge::new(encode_cursor(id(&row)), node(row))));
        connection
    }
}

/// Forward pagination by position, for lists ordered by relevance rather than id.
#[derive(Debug, Clone, Copy)]
pub struct OffsetPage {
    pub first: u64,
    pub offset: u64,
}

impl OffsetPage {
    pub fn parse(first: Option<i32>, after: Option<&str>) -> ApiResult<Self> {
        let page = Page::parse(first, None)?;
        let offset = match after {
            Some(cursor) => URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| text.strip_prefix("offset:").and_then(|n| n.parse::<u64>().ok()))
                .filter(|n| *n < MAX_OFFSET)
                .map(|n| n + 1)
                .ok_or_else(|| ApiError::bad_input("after", "after is not a cursor of this connection"))?,
            None => 0,
        };
        Ok(Self { first: page.first, offset })
    }

    /// Builds the connection from up to `first + 1` rows fetched from `offset`.
    pub fn connection<M, N>(
        &self,
        mut rows: Vec<M>,
        node: impl Fn(M) -> N,
    ) -> Connection<String, N, EmptyFields, EmptyFields>
    where
        N: async_graphql::OutputType,
    {
        let has_next = rows.len() as u64 > self.first;
        rows.truncate(self.first as usize);
        let mut connection = Connection::new(self.offset > 0, has_next);
        connection.edges.extend(rows.into_iter().enumerate().map(|(i, row)| {
            Edge::new(URL_SAFE_NO_PAD.encode(format!("offset:{}", self.offset + i as u64)), node(row))
        }));
        connection
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> ApiResult<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::bad_input("after", "after is not a cursor of this connection"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() -> ApiResult<()> {
        let id = Uuid::now_v7();
        let page = Page::parse(Some(5), Some(&encode_cursor(id)))?;
        assert_eq!(page.after, Some(id));
        assert_eq!(page.first, 5);
        Ok(())
    }

    #[test]
    fn bounds_are_enforced() {
        for bad in [0, -1, 101] {
            assert!(Page::parse(Some(bad), None).is_err());
        }
        assert!(Page::parse(None, Some("not-a-cursor")).is_err());
    }
}

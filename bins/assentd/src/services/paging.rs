//! Paging of listings: the `limit` and `offset` query parameters as every listing reads them.

use std::collections::HashMap;

/// The most items one page holds.
pub const MAX_LIMIT: i64 = 1000;

/// A page: at most `limit` items after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// Which paging parameter is out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidPage {
    /// `limit` is not 1 to [`MAX_LIMIT`].
    Limit,
    /// `offset` is negative.
    Offset,
}

/// Reads `limit` (1 to 1000, default 50) and `offset` (at least 0, default 0).
pub fn page(params: &HashMap<String, String>) -> Result<Page, InvalidPage> {
    let number = |name: &str, default: i64, valid: fn(i64) -> bool, invalid| {
        params.get(name).map_or(Ok(default), |v| {
            v.parse::<i64>().ok().filter(|n| valid(*n)).ok_or(invalid)
        })
    };
    Ok(Page {
        limit: number(
            "limit",
            50,
            |n| (1..=MAX_LIMIT).contains(&n),
            InvalidPage::Limit,
        )?,
        offset: number("offset", 0, |n| n >= 0, InvalidPage::Offset)?,
    })
}

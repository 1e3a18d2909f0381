//! `GET /media/{key}`: stored media at their stable public URLs, streamed, with byte ranges
//! (video players seek with them) and validators.

use poem::{
    Body, IntoResponse, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};

use crate::{error::AppError, state::AppState, storage::sniff};

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranged {
    /// The whole file (no header, or one we do not honour, such as several ranges).
    Whole,
    /// These bytes, end exclusive.
    Part(std::ops::Range<u64>),
    /// Nothing of the file lies in the range: 416.
    Unsatisfiable,
}

/// Reads a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range against `size`.
pub fn parse_range(header: Option<&str>, size: u64) -> Ranged {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ranged::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let range = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => start..end.saturating_add(1).min(size),
        (Ok(start), Err(_)) if end.is_empty() => start..size,
        (Err(_), Ok(suffix)) if start.is_empty() && suffix > 0 => size.saturating_sub(suffix)..size,
        _ => return Ranged::Whole,
    };
    if range.start >= size {
        Ranged::Unsatisfiable
    } else {
        Ranged::Part(range)
    }
}

/// Serves a stored file; keys are never reused, so clients may cache forever.
#[handler]
pub async fn get(
    state: Data<&AppState>,
    req: &Request,
    Path(key): Path<String>,
) -> poem::Result<Response> {
    let not_found = |err: crate::storage::StorageError| {
        tracing::debug!(key, error = %err, "media not served");
        AppError::NotFound
    };
    let meta = state.store.head(&key).await.map_err(not_found)?;
    let etag = meta
        .e_tag
        .as_deref()
        .map(|tag| format!("\"{}\"", tag.trim_matches('"')));
    if let (Some(etag), Some(asked)) = (&etag, req.header("if-none-match"))
        && asked
            .split(',')
            .any(|t| t.trim() == etag || t.trim() == "*")
    {
        return Ok(StatusCode::NOT_MODIFIED
            .with_header("etag", etag.as_str())
            .into_response());
    }
    let ext = key.rsplit_once('.').map_or("", |(_, ext)| ext);
    let (mime, disposition) = match sniff::mime_of_ext(ext) {
        Some(mime) => (mime, "inline"),
        None => ("application/octet-stream", "attachment"),
    };
    let (status, range) = match parse_range(req.header("range"), meta.size) {
        Ranged::Whole => (StatusCode::OK, 0..meta.size),
        Ranged::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
        Ranged::Unsatisfiable => {
            return Ok(StatusCode::RANGE_NOT_SATISFIABLE
                .with_header("content-range", format!("bytes */{}", meta.size))
                .into_response());
        }
    };
    let length = range.end - range.start;
    // object_store refuses an empty range: an empty file has no bytes to stream.
    let body = if length == 0 {
        Body::empty()
    } else {
        let stream = state
            .store
            .stream(&key, range.clone())
            .await
            .map_err(not_found)?;
        Body::from_bytes_stream(stream)
    };
    let mut response = Response::builder()
        .status(status)
        .content_type(mime)
        .header("content-length", length)
        .header("accept-ranges", "bytes")
        .header("content-disposition", disposition)
        .header("cache-control", "public, max-age=31536000, immutable")
        .header("last-modified", http_date(meta.last_modified));
    if let Some(etag) = etag {
        response = response.header("etag", etag);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            "content-range",
            format!("bytes {}-{}/{}", range.start, range.end - 1, meta.size),
        );
    }
    Ok(response.body(body))
}

fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::{Ranged, parse_range};

    #[test]
    fn single_byte_ranges_are_read_against_the_size() {
        assert_eq!(parse_range(None, 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Ranged::Part(0..10));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Ranged::Part(90..100));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Ranged::Part(90..100));
        assert_eq!(
            parse_range(Some("bytes=95-200"), 100),
            Ranged::Part(95..100)
        );
        assert_eq!(parse_range(Some("bytes=-500"), 100), Ranged::Part(0..100));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Ranged::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("items=0-9"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=abc"), 100), Ranged::Whole);
    }
}

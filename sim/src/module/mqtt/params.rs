//! The parameter forms the MQTT commands share (printable quoted strings,
//! ranged integers, flags, ports) and payloads as hex text.

use std::fmt::Write as _;

use crate::at::parse::Params;
use crate::at::reply::{CmeError, Fail};
use crate::module::bad_param;

/// Hex text -> bytes (`"ABCD3031"` -> AB CD 30 31); `None` if odd or not hex.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

pub(super) fn encode_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// Printable ASCII: what a quoted parameter of a profile may hold `[model]`.
pub(super) fn printable(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7F).contains(&b))
}

pub(super) fn quoted(params: &Params, i: usize) -> Result<String, Fail> {
    let text = params.required_string(i).map_err(bad_param)?;
    if !printable(text) {
        return Err(CmeError::INCORRECT_PARAMETERS.into());
    }
    Ok(text.to_string())
}

pub(super) fn int_in(
    params: &Params,
    i: usize,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, Fail> {
    let n = params.required_int(i).map_err(bad_param)?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(CmeError::INCORRECT_PARAMETERS.into())
    }
}

pub(super) fn flag(params: &Params, i: usize) -> Result<bool, Fail> {
    Ok(int_in(params, i, 0..=1)? == 1)
}

/// An optional port parameter (ops 2 and 3).
pub(super) fn port(params: &Params, i: usize) -> Result<Option<u16>, Fail> {
    match params.int(i).map_err(bad_param)? {
        None => Ok(None),
        Some(n) => u16::try_from(n)
            .ok()
            .filter(|p| *p != 0)
            .map(Some)
            .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into()),
    }
}

pub(super) fn not_allowed() -> Fail {
    CmeError::OPERATION_NOT_ALLOWED.into()
}

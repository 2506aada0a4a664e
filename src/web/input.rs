//! Values handed to the core by JavaScript (a link's settings, an imported file, an element's
//! attribute, a message), checked for size and depth before serde reads them.
//!
//! Why: serde's deserializers recurse once per level of nesting, and in wasm a stack overflow
//! is a trap that can leave the module unusable for every element on the page. A value is
//! therefore walked first without recursion (an explicit stack), and one that is nested too
//! deeply, has too many parts or too much text is refused with a message naming the limit.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// How large a value may be.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// What the value is, in the user's words, singular ("the configuration").
    pub what: &'static str,
    /// Levels of nesting (a flat object is 1).
    pub depth: usize,
    /// Arrays' elements and objects' values, counted over the whole value.
    pub parts: usize,
    /// UTF-16 code units of text, over all strings.
    pub text: usize,
}

/// A configuration: a custom mixture is the deepest part (settings → energy → gmm → covs →
/// matrix → row: 6 levels); 200,000 parts hold a 1000-component mixture in 10-D.
pub(crate) const SETTINGS: Limits = Limits {
    what: "the configuration",
    depth: 12,
    parts: 200_000,
    text: 1 << 20,
};

/// A saved run: `{entries: {name: {kind, data}}}` with base64 arrays; the largest replay
/// buffers of the paper preset in 32-D take about 100 MB of base64.
pub(crate) const SAVED_STATE: Limits = Limits {
    what: "the saved state",
    depth: 6,
    parts: 100_000,
    text: 256 << 20,
};

/// Checks `value` against `limits` without recursion.
pub(crate) fn check(value: &JsValue, limits: &Limits) -> Result<(), String> {
    let mut stack = vec![(value.clone(), 1usize)];
    let (mut parts, mut text) = (0usize, 0usize);
    while let Some((v, depth)) = stack.pop() {
        if let Some(s) = v.dyn_ref::<js_sys::JsString>() {
            text += s.length() as usize;
            if text > limits.text {
                return Err(format!(
                    "{} holds more than {} MB of text, the most accepted",
                    limits.what,
                    limits.text >> 20
                ));
            }
            continue;
        }
        if !v.is_object() {
            continue;
        }
        let children: js_sys::Array = if let Some(a) = v.dyn_ref::<js_sys::Array>() {
            a.clone()
        } else if let Some(m) = v.dyn_ref::<js_sys::Map>() {
            js_sys::Array::from(&m.values())
        } else {
            js_sys::Object::values(v.unchecked_ref())
        };
        if children.length() == 0 {
            continue;
        }
        if depth >= limits.depth {
            return Err(format!(
                "{} is nested more than {} levels deep, the most accepted",
                limits.what, limits.depth
            ));
        }
        parts += children.length() as usize;
        if parts > limits.parts {
            return Err(format!(
                "{} has more than {} parts (numbers, strings and lists), the most accepted",
                limits.what, limits.parts
            ));
        }
        for child in children.iter() {
            stack.push((child, depth + 1));
        }
    }
    Ok(())
}

/// `value` read as `T` after [`check`]; undefined and null read as JSON null. Errors name
/// what was read.
pub(crate) fn from_js<T: serde::de::DeserializeOwned>(
    value: JsValue,
    limits: &Limits,
) -> Result<T, JsError> {
    let value = if value.is_undefined() {
        JsValue::NULL
    } else {
        value
    };
    check(&value, limits).map_err(|e| JsError::new(&e))?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| JsError::new(&format!("{} could not be read: {e}", limits.what)))
}

//! Saved sampler and run state: the export of a run's configuration with its trained
//! network's weights, which an import restores (docs/product.md, export and import).
//!
//! A [`StateMap`] holds named arrays of numbers, each stored as the base64 of its
//! little-endian bytes. Bytes rather than JSON numbers because the state must survive a
//! trip through JavaScript bit for bit: a u64 (a generator's state) does not fit a JS
//! number, and an f32 printed in decimal and read back through f64 can round twice.
//! What is stored is only what persists between outer iterations (weights, optimizer
//! moments, replay buffers, generator states, counters); a sampler built afresh from the
//! same configuration and given the map continues exactly as the saved one would have.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One stored array; the variant names its element type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entry {
    F32(Bytes),
    F64(Bytes),
    U64(Bytes),
}

/// An array's little-endian bytes: raw in memory, so that a run can keep its state after
/// every iteration at the cost of a copy; base64 text in JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_base64(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(d)?;
        decode_base64(&text)
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

/// Named arrays (see the module comment).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StateMap(pub BTreeMap<String, Entry>);

impl StateMap {
    pub fn new() -> StateMap {
        StateMap::default()
    }

    pub fn put_f32(&mut self, key: &str, values: &[f32]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.0.insert(key.into(), Entry::F32(Bytes(bytes)));
    }

    pub fn put_f64(&mut self, key: &str, values: &[f64]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.0.insert(key.into(), Entry::F64(Bytes(bytes)));
    }

    pub fn put_u64(&mut self, key: &str, values: &[u64]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.0.insert(key.into(), Entry::U64(Bytes(bytes)));
    }

    /// A count or index.
    pub fn put_usize(&mut self, key: &str, value: usize) {
        self.put_u64(key, &[value as u64]);
    }

    pub fn put_scalar(&mut self, key: &str, value: f64) {
        self.put_f64(key, &[value]);
    }

    /// Stores a flag as 0 or 1.
    pub fn put_bool(&mut self, key: &str, value: bool) {
        self.put_u64(key, &[value as u64]);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    fn bytes(&self, key: &str, want: &str, width: usize) -> Result<&[u8], String> {
        let entry = self
            .0
            .get(key)
            .ok_or_else(|| format!("saved state: \"{key}\" is missing"))?;
        let (kind, bytes) = match entry {
            Entry::F32(b) => ("f32", b),
            Entry::F64(b) => ("f64", b),
            Entry::U64(b) => ("u64", b),
        };
        if kind != want {
            return Err(format!(
                "saved state: \"{key}\" holds {kind} values, expected {want}"
            ));
        }
        if bytes.0.len() % width != 0 {
            return Err(format!(
                "saved state: \"{key}\" has {} bytes, not a whole number of {want} values",
                bytes.0.len()
            ));
        }
        Ok(&bytes.0)
    }

    pub fn f32s(&self, key: &str) -> Result<Vec<f32>, String> {
        let b = self.bytes(key, "f32", 4)?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    pub fn f64s(&self, key: &str) -> Result<Vec<f64>, String> {
        let b = self.bytes(key, "f64", 8)?;
        Ok(b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }

    pub fn u64s(&self, key: &str) -> Result<Vec<u64>, String> {
        let b = self.bytes(key, "u64", 8)?;
        Ok(b.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }

    /// Copies the array `key` into `out`, which must have its length.
    pub fn read_f32_into(&self, key: &str, out: &mut [f32]) -> Result<(), String> {
        let v = self.f32s(key)?;
        check_len(key, v.len(), out.len())?;
        out.copy_from_slice(&v);
        Ok(())
    }

    pub fn read_f64_into(&self, key: &str, out: &mut [f64]) -> Result<(), String> {
        let v = self.f64s(key)?;
        check_len(key, v.len(), out.len())?;
        out.copy_from_slice(&v);
        Ok(())
    }

    /// An array of length `len`.
    pub fn f32s_of_len(&self, key: &str, len: usize) -> Result<Vec<f32>, String> {
        let v = self.f32s(key)?;
        check_len(key, v.len(), len)?;
        Ok(v)
    }

    pub fn f64s_of_len(&self, key: &str, len: usize) -> Result<Vec<f64>, String> {
        let v = self.f64s(key)?;
        check_len(key, v.len(), len)?;
        Ok(v)
    }

    /// An array that is empty (nothing recorded yet) or of length `len`.
    pub fn f32s_empty_or_of_len(&self, key: &str, len: usize) -> Result<Vec<f32>, String> {
        let v = self.f32s(key)?;
        if !v.is_empty() {
            check_len(key, v.len(), len)?;
        }
        Ok(v)
    }

    /// A single u64 (a counter).
    pub fn u64(&self, key: &str) -> Result<u64, String> {
        let v = self.u64s(key)?;
        check_len(key, v.len(), 1)?;
        Ok(v[0])
    }

    pub fn usize(&self, key: &str) -> Result<usize, String> {
        usize::try_from(self.u64(key)?).map_err(|_| format!("saved state: \"{key}\" is too large"))
    }

    pub fn scalar(&self, key: &str) -> Result<f64, String> {
        let v = self.f64s(key)?;
        check_len(key, v.len(), 1)?;
        Ok(v[0])
    }

    pub fn bool(&self, key: &str) -> Result<bool, String> {
        match self.usize(key)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!(
                "saved state: \"{key}\" must be 0 or 1, got {other}"
            )),
        }
    }

    /// Copies every entry of `other` under `prefix` (a sampler's map inside a run's).
    pub fn put_map(&mut self, prefix: &str, other: &StateMap) {
        for (k, v) in &other.0 {
            self.0.insert(format!("{prefix}{k}"), v.clone());
        }
    }

    /// The entries under `prefix`, with the prefix removed.
    pub fn sub_map(&self, prefix: &str) -> StateMap {
        StateMap(
            self.0
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
                .collect(),
        )
    }
}

fn check_len(key: &str, got: usize, want: usize) -> Result<(), String> {
    if got != want {
        return Err(format!(
            "saved state: \"{key}\" has {got} values, this configuration needs {want} \
             (was it saved with other settings?)"
        ));
    }
    Ok(())
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 §4) with `=` padding.
pub fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Inverse of [`encode_base64`]; rejects other alphabets, bad padding and lengths.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let s = text.as_bytes();
    if !s.len().is_multiple_of(4) {
        return Err(format!("base64 length {} is not a multiple of 4", s.len()));
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (q, quad) in s.chunks(4).enumerate() {
        let last = q + 1 == s.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err("misplaced base64 padding".into());
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return Err(format!("character {:?} is not base64", c as char)),
            };
            n = n << 6 | v as u32;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors_and_round_trips() {
        // RFC 4648 §10 test vectors.
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in vectors {
            assert_eq!(encode_base64(plain.as_bytes()), coded);
            assert_eq!(decode_base64(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(decode_base64(&encode_base64(&all)).unwrap(), all);
        assert!(decode_base64("Zm9").is_err());
        assert!(decode_base64("Zm=v").is_err());
        assert!(decode_base64("Zm9*").is_err());
    }

    #[test]
    fn arrays_round_trip_bit_for_bit_through_json() {
        let mut m = StateMap::new();
        let f32s = [0.1f32, -0.0, f32::MIN_POSITIVE, 1e-45, f32::NAN, 3.4e38];
        let f64s = [0.1f64, f64::NAN, -1e-308, f64::INFINITY];
        let u64s = [u64::MAX, 0, 0x9E37_79B9_7F4A_7C15];
        m.put_f32("a", &f32s);
        m.put_f64("b", &f64s);
        m.put_u64("c", &u64s);
        m.put_usize("n", 7);
        let text = serde_json::to_string(&m).unwrap();
        let back: StateMap = serde_json::from_str(&text).unwrap();
        let bits32: Vec<u32> = back
            .f32s("a")
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(bits32, f32s.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        let bits64: Vec<u64> = back
            .f64s("b")
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(bits64, f64s.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_eq!(back.u64s("c").unwrap(), u64s);
        assert_eq!(back.usize("n").unwrap(), 7);
        // Wrong type, wrong length and absence are named.
        assert!(back.f64s("a").unwrap_err().contains("holds f32"));
        let mut short = [0f32; 2];
        assert!(back
            .read_f32_into("a", &mut short)
            .unwrap_err()
            .contains("has 6 values"));
        assert!(back.scalar("zz").unwrap_err().contains("missing"));
    }

    #[test]
    fn sub_maps_keep_their_entries() {
        let mut inner = StateMap::new();
        inner.put_usize("iteration", 3);
        let mut outer = StateMap::new();
        outer.put_map("sampler.", &inner);
        outer.put_usize("other", 1);
        assert_eq!(outer.sub_map("sampler."), inner);
    }
}

//! What the core offers, before any run: the target catalog, the sampler registry and the
//! settings schema.

use super::*;

/// The targets the page offers, one entry per catalog row, in the catalog's order:
///
/// ```text
/// {name: "funnel", description: "Neal's funnel in d = 10, …", dim: 10,
///  projections: [[0, 1], [0, 2], …, [0, 9]], hint: "every (x0, xi) is the same 2-D funnel",
///  sizes: {default: 10, min: 2, max: 512, even: false,
///          listed: [{name: "funnel:2", description: "Neal's funnel in d = 2: …", dim: 2,
///                    projections: [[0, 1]], hint: null, sizes: null}]}}
/// ```
///
/// - `dim`: d at the row's default size.
/// - `projections`: the displayed axes the page may offer there (what `set_display_axes`
///   accepts), the default first, each an array of min(d, 2) axis indices: [[0]] in 1-D,
///   [[0, 1]] in 2-D, [[0, 1], [2, 3], …] for Manywell's pairs.
/// - `hint`: one line about the picture, or null.
/// - `sizes`: null when the name takes no ":D"; else "name:D" is accepted for
///   min ≤ D ≤ max (even D only when `even`), "name" alone is `default`, and `listed`
///   holds entries of this same shape (their `sizes` null) for the sizes the page offers
///   as targets of their own.
#[wasm_bindgen]
pub fn catalog() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Sizes {
        default: usize,
        min: usize,
        max: usize,
        even: bool,
        listed: Vec<Entry>,
    }
    #[derive(Serialize)]
    struct Entry {
        name: String,
        description: &'static str,
        dim: usize,
        projections: Vec<Vec<usize>>,
        hint: Option<String>,
        sizes: Option<Sizes>,
    }
    let entry = |name: String, description, sizes| -> Result<Entry, JsError> {
        let target =
            Target::new(&EnergySpec::Named(name.clone()), 1.0).map_err(|e| JsError::new(&e))?;
        Ok(Entry {
            name,
            description,
            dim: target.dim(),
            projections: target.projections(),
            hint: target.hint(),
            sizes,
        })
    };
    let mut list = Vec::with_capacity(CATALOG.len());
    for row in CATALOG {
        let sizes = match row.size() {
            None => None,
            Some(size) => Some(Sizes {
                default: size.default,
                min: size.min,
                max: size.max,
                even: size.even.is_some(),
                listed: size
                    .listed
                    .iter()
                    .map(|&(d, description)| entry(format!("{}:{d}", row.name), description, None))
                    .collect::<Result<_, _>>()?,
            }),
        };
        list.push(entry(row.name.to_string(), row.description, sizes)?);
    }
    to_js(&list)
}

/// The sampler registry, in its order: [{name, label, description, explanation, family,
/// dims, settings, keeps_progress, labels, capabilities}] (`sampler::registry::SamplerInfo`;
/// `dims` null: any dimension; `labels` [[key, label], …] where the sampler's meaning of a
/// setting differs from the schema's label).
#[wasm_bindgen]
pub fn samplers() -> Result<JsValue, JsError> {
    to_js(&crate::sampler::registry::infos().collect::<Vec<_>>())
}

/// The settings schema in the link's order: [{key, kind, min?, max?, step?, positive?,
/// values?, label, help}] (`config::schema`); the sampler key's values are the registry's.
#[wasm_bindgen]
pub fn settings() -> Result<JsValue, JsError> {
    to_js(&crate::config::schema::to_json())
}

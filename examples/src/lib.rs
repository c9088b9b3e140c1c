//! Examples live next to this crate as `[[example]]` targets.

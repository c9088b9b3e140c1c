//! Examples live next to this crate as `[[example]]` targets. This library holds what two of
//! them share: the `/`, `/custom` and `/chat` contract of docs/PROGRAMS.md, `conformance`, served by
//! `conformance` in one process and by `cluster_node` across several.

pub mod contract;

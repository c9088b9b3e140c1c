//! Room membership and delivery. The in-memory index lives in [`local`]; pub/sub managers
//! for several processes will wrap it.

pub(crate) mod local;

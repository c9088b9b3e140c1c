//! Per-session storage: at most one value of each type, like a typed python dict.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;

/// Values keyed by their type. Engine.IO sessions and Socket.IO sockets each have one.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    values: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl SessionStore {
    pub(crate) fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }

    pub(crate) fn save<T: Send + Sync + 'static>(&self, value: T) {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        values.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// Runs `f` on the value of type `T`, created with `Default` when missing. The lock is
    /// held meanwhile, so `f` must not touch this store.
    pub(crate) fn with<T: Default + Send + Sync + 'static, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        let value = values
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        match value.downcast_mut::<T>() {
            Some(value) => f(value),
            // The map is keyed by `TypeId::of::<T>()`, so the entry always holds a `T`.
            None => f(&mut T::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_type() {
        let store = SessionStore::default();
        assert_eq!(store.get::<u32>(), None);
        store.save(5_u32);
        store.save(String::from("x"));
        assert_eq!(
            store.with(|n: &mut u32| {
                *n += 1;
                *n
            }),
            6
        );
        assert_eq!(store.get::<u32>(), Some(6));
        assert_eq!(store.get::<String>().as_deref(), Some("x"));
        assert_eq!(
            store.with(|v: &mut Vec<u8>| v.len()),
            0,
            "created with Default"
        );
    }
}

//! Which namespaces exist: the ones registered by name, and dynamic ones created on first
//! connect when a matcher accepts the name (`*` accepts every name).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::manager::Manager;
use crate::ns::namespace::{ConnectOptions, Handlers, Namespace};
use crate::parser::ParserLimits;

pub(crate) type Matcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The namespaces of one server.
pub(crate) struct Registry {
    fixed: HashMap<String, Arc<Namespace>>,
    /// `/`, which always exists, as in Node and python-socketio, handlers or not.
    main: Arc<Namespace>,
    dynamic: Vec<(Matcher, Arc<Handlers>)>,
    manager: Arc<dyn Manager>,
    connect: ConnectOptions,
    parser_limits: ParserLimits,
    /// Dynamic namespaces created so far; they stay, like Node's child namespaces.
    created: RwLock<HashMap<String, Arc<Namespace>>>,
}

impl Registry {
    pub(crate) fn new(
        mut fixed: HashMap<String, Arc<Namespace>>,
        dynamic: Vec<(Matcher, Arc<Handlers>)>,
        manager: Arc<dyn Manager>,
        connect: ConnectOptions,
        parser_limits: ParserLimits,
    ) -> Self {
        let main = fixed
            .entry("/".to_owned())
            .or_insert_with(|| Namespace::new("/".to_owned(), Arc::default(), manager.clone()))
            .clone();
        Registry {
            fixed,
            main,
            dynamic,
            manager,
            connect,
            parser_limits,
            created: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn manager(&self) -> &Arc<dyn Manager> {
        &self.manager
    }

    /// How namespace connects are answered.
    pub(crate) fn connect_options(&self) -> ConnectOptions {
        self.connect
    }

    /// Limits every connection's packet decoder applies.
    pub(crate) fn parser_limits(&self) -> &ParserLimits {
        &self.parser_limits
    }

    /// The main namespace `/`.
    pub(crate) fn main(&self) -> Arc<Namespace> {
        self.main.clone()
    }

    /// An existing namespace.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Namespace>> {
        if let Some(ns) = self.fixed.get(name) {
            return Some(ns.clone());
        }
        let created = self.created.read().unwrap_or_else(|e| e.into_inner());
        created.get(name).cloned()
    }

    /// The namespace a client asks to connect to, created when a dynamic matcher accepts
    /// the name; `None` for an unknown namespace.
    pub(crate) fn resolve(&self, name: &str) -> Option<Arc<Namespace>> {
        if let Some(ns) = self.get(name) {
            return Some(ns);
        }
        let handlers = self
            .dynamic
            .iter()
            .find(|(matches, _)| matches(name))
            .map(|(_, handlers)| handlers.clone())?;
        let mut created = self.created.write().unwrap_or_else(|e| e.into_inner());
        let ns = created
            .entry(name.to_owned())
            .or_insert_with(|| Namespace::new(name.to_owned(), handlers, self.manager.clone()));
        Some(ns.clone())
    }

    /// Names of the namespaces that exist now.
    pub(crate) fn names(&self) -> Vec<String> {
        let created = self.created.read().unwrap_or_else(|e| e.into_inner());
        self.fixed.keys().chain(created.keys()).cloned().collect()
    }
}

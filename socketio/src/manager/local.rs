//! The in-memory manager: a room index per namespace.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use super::{BroadcastTarget, Manager};
use crate::engineio::Sid;

/// Keeps room membership in this process's memory: the default manager.
#[derive(Debug, Default)]
pub struct LocalManager {
    namespaces: RwLock<HashMap<String, Arc<LocalRooms>>>,
}

impl LocalManager {
    /// An empty manager.
    pub fn new() -> Self {
        LocalManager::default()
    }

    /// The index of `namespace`, created on first use.
    fn index(&self, namespace: &str) -> Arc<LocalRooms> {
        if let Some(rooms) = self
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(namespace)
        {
            return rooms.clone();
        }
        let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        namespaces.entry(namespace.to_owned()).or_default().clone()
    }
}

impl Manager for LocalManager {
    fn join(&self, namespace: &str, sid: &Sid, room: &str) {
        self.index(namespace).join(sid, room);
    }

    fn leave(&self, namespace: &str, sid: &Sid, room: &str) {
        self.index(namespace).leave(sid, room);
    }

    fn leave_all(&self, namespace: &str, sid: &Sid) {
        self.index(namespace).leave_all(sid);
    }

    fn rooms_of(&self, namespace: &str, sid: &Sid) -> Vec<String> {
        self.index(namespace).rooms_of(sid)
    }

    fn rooms(&self, namespace: &str) -> Vec<String> {
        self.index(namespace).all_rooms()
    }

    fn close_room(&self, namespace: &str, room: &str) -> Vec<Sid> {
        self.index(namespace).close_room(room)
    }

    fn select(&self, namespace: &str, target: &BroadcastTarget) -> Vec<Sid> {
        self.index(namespace).select_target(target)
    }
}

/// Which sockets are in which rooms, both ways, so joins, leaves and lookups are cheap.
#[derive(Debug, Default)]
pub(crate) struct LocalRooms {
    index: RwLock<Index>,
}

#[derive(Debug, Default)]
struct Index {
    members: HashMap<String, HashSet<Sid>>,
    rooms_of: HashMap<Sid, HashSet<String>>,
}

impl LocalRooms {
    pub(crate) fn join(&self, sid: &Sid, room: &str) {
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        index
            .members
            .entry(room.to_owned())
            .or_default()
            .insert(sid.clone());
        index
            .rooms_of
            .entry(sid.clone())
            .or_default()
            .insert(room.to_owned());
    }

    pub(crate) fn leave(&self, sid: &Sid, room: &str) {
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        if let Some(members) = index.members.get_mut(room) {
            members.remove(sid);
            if members.is_empty() {
                index.members.remove(room);
            }
        }
        if let Some(rooms) = index.rooms_of.get_mut(sid) {
            rooms.remove(room);
        }
    }

    /// Removes `sid` from every room.
    pub(crate) fn leave_all(&self, sid: &Sid) {
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        let Some(rooms) = index.rooms_of.remove(sid) else {
            return;
        };
        for room in rooms {
            if let Some(members) = index.members.get_mut(&room) {
                members.remove(sid);
                if members.is_empty() {
                    index.members.remove(&room);
                }
            }
        }
    }

    /// Empties `room`; returns who was in it.
    pub(crate) fn close_room(&self, room: &str) -> Vec<Sid> {
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        let members: Vec<Sid> = index
            .members
            .remove(room)
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        for sid in &members {
            if let Some(rooms) = index.rooms_of.get_mut(sid) {
                rooms.remove(room);
            }
        }
        members
    }

    pub(crate) fn rooms_of(&self, sid: &Sid) -> Vec<String> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let mut rooms: Vec<String> = index
            .rooms_of
            .get(sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default();
        rooms.sort();
        rooms
    }

    /// Every room with at least one member.
    pub(crate) fn all_rooms(&self) -> Vec<String> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        index.members.keys().cloned().collect()
    }

    /// Sockets chosen by `target`. Every socket is in its own room, so "all sockets" are the
    /// keys of `rooms_of`.
    pub(crate) fn select_target(&self, target: &BroadcastTarget) -> Vec<Sid> {
        let chosen = if target.rooms.is_empty() {
            let index = self.index.read().unwrap_or_else(|e| e.into_inner());
            let mut all: HashSet<Sid> = index.rooms_of.keys().cloned().collect();
            for room in &target.except {
                if let Some(members) = index.members.get(room) {
                    all.retain(|sid| !members.contains(sid));
                }
            }
            all
        } else {
            self.select(&target.rooms, &target.except)
        };
        chosen
            .into_iter()
            .filter(|sid| target.skip.as_ref() != Some(sid))
            .collect()
    }

    /// Sockets in any of `rooms` and in none of `except`.
    pub(crate) fn select(&self, rooms: &[String], except: &[String]) -> HashSet<Sid> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let mut chosen: HashSet<Sid> = rooms
            .iter()
            .filter_map(|room| index.members.get(room))
            .flatten()
            .cloned()
            .collect();
        for room in except {
            if let Some(members) = index.members.get(room) {
                chosen.retain(|sid| !members.contains(sid));
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_leave_select() {
        let rooms = LocalRooms::default();
        let (a, b, c) = (Sid::from("a"), Sid::from("b"), Sid::from("c"));
        rooms.join(&a, "x");
        rooms.join(&b, "x");
        rooms.join(&b, "y");
        rooms.join(&c, "y");
        let pick = |r: &[&str], e: &[&str]| {
            let r: Vec<String> = r.iter().map(|s| s.to_string()).collect();
            let e: Vec<String> = e.iter().map(|s| s.to_string()).collect();
            let mut v: Vec<String> = rooms
                .select(&r, &e)
                .into_iter()
                .map(|s| s.to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(pick(&["x"], &[]), ["a", "b"]);
        assert_eq!(pick(&["x", "y"], &["y"]), ["a"]);
        rooms.leave(&b, "x");
        assert_eq!(pick(&["x"], &[]), ["a"]);
        assert_eq!(rooms.rooms_of(&b), ["y"]);
        rooms.leave_all(&b);
        assert!(rooms.rooms_of(&b).is_empty());
        assert_eq!(pick(&["y"], &[]), ["c"]);
        assert_eq!(rooms.close_room("y").len(), 1);
        assert!(rooms.all_rooms().contains(&"x".to_string()));
        assert!(!rooms.all_rooms().contains(&"y".to_string()));
    }
}

//! Scale-out: the bus drivers against a real Redis, Redis Cluster and RabbitMQ (one suite every
//! driver runs, then what only that bus can show), and nodes on a bus that behave as one server:
//! cluster queries, remote operations, a burst, faults, bad bus input, and clusters mixed with
//! python-socketio nodes and emitters under official JavaScript clients.
//!
//! One test binary for these files (link time on two cores); each file is a module. Every test
//! has buses of its own (a private `redis-server`, or channel names no other test uses on the
//! shared RabbitMQ), so they run side by side.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod burst;
mod bus_amqp;
mod bus_redis;
mod bus_redis_cluster;
mod faults;
mod nodes_amqp;
mod nodes_redis;
mod queries;
mod remote_ops;

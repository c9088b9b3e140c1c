//! Two `#[socketio::on]` functions for one event of one namespace: `build()` refuses, and
//! the error names both places. (A test binary of its own: every server built in a binary
//! gathers every handler of that binary.)

use socketio::RegistryError;
use socketio::{BuildError, SocketIo};

#[socketio::on("same", namespace = "/twice")]
async fn first() {}

#[socketio::on("same", namespace = "/twice")]
async fn second() -> u8 {
    2
}

#[test]
fn two_functions_for_one_event_are_reported_with_both_locations() {
    let result = SocketIo::builder().build();
    let Err(BuildError::Registry(RegistryError::Duplicate {
        namespace,
        event,
        first,
        second,
    })) = result
    else {
        panic!("expected a duplicate error, got {result:?}");
    };
    assert_eq!((namespace.as_str(), event.as_str()), ("/twice", "same"));
    let mut lines: Vec<u32> = [&first, &second]
        .iter()
        .map(|at| {
            let mut parts = at.rsplitn(3, ':');
            let _column = parts.next();
            let line = parts.next().and_then(|l| l.parse().ok());
            assert_eq!(
                parts.next(),
                Some("tests/tests/macro_duplicates.rs"),
                "{at}"
            );
            line.unwrap_or_else(|| panic!("no line in {at}"))
        })
        .collect();
    lines.sort_unstable();
    // The attributes above sit on lines 8 and 11.
    assert_eq!(lines, [8, 11], "{first} / {second}");
    let message = BuildError::Registry(RegistryError::Duplicate {
        namespace,
        event,
        first,
        second,
    })
    .to_string();
    assert!(
        message.contains("two handlers for event \"same\""),
        "{message}"
    );
}

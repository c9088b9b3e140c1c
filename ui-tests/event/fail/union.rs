#[derive(socketio::Event)]
#[event("raw")]
union Raw {
    int: u32,
    float: f32,
}

fn main() {}

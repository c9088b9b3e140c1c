#[derive(serde::Deserialize)]
struct Line {
    text: String,
}

#[socketio::on(Line)]
async fn on_line(line: Line) {
    let _ = line.text;
}

fn main() {}

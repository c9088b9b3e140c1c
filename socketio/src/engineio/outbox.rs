//! The receiving end of a session's outbound queue.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::packet::Frame;

/// One queue entry: a frame, or frames that must reach the client back to back (a binary
/// Socket.IO packet and its attachments), so that concurrent senders never interleave them.
#[derive(Debug)]
pub(crate) enum Outbound {
    Frame(Frame),
    Group(Arc<[Frame]>),
    /// A frame that must leave in a write of its own, followed by a pause.
    Paced(Frame, Duration),
}

/// Hands out queued frames one by one. The transport that writes to the client holds it
/// (behind the socket's lock), so frames of a group come out consecutively.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: mpsc::Receiver<Outbound>,
    /// The rest of a group whose first frame was handed out.
    carry: VecDeque<Frame>,
    /// The pause asked for after the frame handed out last.
    pause: Option<Duration>,
}

impl Outbox {
    pub(crate) fn new(queue: mpsc::Receiver<Outbound>) -> Self {
        Outbox {
            queue,
            carry: VecDeque::new(),
            pause: None,
        }
    }

    /// Waits for the next frame. Cancel-safe: nothing is lost if the future is dropped.
    pub(crate) async fn recv(&mut self) -> Option<Frame> {
        if let Some(frame) = self.carry.pop_front() {
            return Some(frame);
        }
        let entry = self.queue.recv().await?;
        Some(self.unpack(entry))
    }

    /// The next frame, if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<Frame> {
        if let Some(frame) = self.carry.pop_front() {
            return Some(frame);
        }
        let entry = self.queue.try_recv().ok()?;
        Some(self.unpack(entry))
    }

    /// The pause asked for after the frame handed out last, once.
    pub(crate) fn take_pause(&mut self) -> Option<Duration> {
        self.pause.take()
    }

    fn unpack(&mut self, entry: Outbound) -> Frame {
        self.pause = None;
        match entry {
            Outbound::Frame(frame) => frame,
            Outbound::Paced(frame, pause) => {
                self.pause = Some(pause);
                frame
            }
            Outbound::Group(frames) => {
                // Groups are never empty: `Socket::send_group` refuses empty ones.
                self.carry.extend(frames.iter().skip(1).cloned());
                frames.first().cloned().unwrap_or(Frame::NOOP)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn groups_come_out_whole_and_in_order() {
        let (tx, rx) = mpsc::channel(8);
        let mut outbox = Outbox::new(rx);
        tx.try_send(Outbound::Frame(Frame::message("a"))).unwrap();
        let group: Arc<[Frame]> = vec![Frame::message("b"), Frame::Binary(vec![1].into())].into();
        tx.try_send(Outbound::Group(group)).unwrap();
        tx.try_send(Outbound::Frame(Frame::message("c"))).unwrap();
        let mut seen = vec![outbox.recv().await.unwrap()];
        while let Some(frame) = outbox.try_recv() {
            seen.push(frame);
        }
        assert_eq!(
            seen,
            vec![
                Frame::message("a"),
                Frame::message("b"),
                Frame::Binary(vec![1].into()),
                Frame::message("c"),
            ]
        );
    }
}

//! A session's outbound queue: filled by any task, emptied by the transport that writes to
//! the client.
//!
//! It is a locked `VecDeque`, allocated on the first frame, rather than a channel, for two
//! reasons. An idle session then costs a few entries, not a channel's block of 32. And the
//! transport's waker is kept only while it actually waits: a WebSocket session's task reads
//! and writes in one loop, so a reply that a handler queued while the task was reading would
//! otherwise wake that very task for nothing, one extra poll per reply.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::MutexGuard as TransportGuard;

use super::packet::Frame;

/// A queue that emptied keeps at most this many entries' worth of memory; a burst beyond it
/// is given back.
const KEPT_CAPACITY: usize = 64;

/// One queue entry: a frame, or frames that must reach the client back to back (a binary
/// Socket.IO packet and its attachments), so that concurrent senders never interleave them.
#[derive(Debug)]
pub(crate) enum Outbound {
    Frame(Frame),
    Group(Arc<[Frame]>),
    /// A frame that must leave in a write of its own, followed by a pause.
    Paced(Frame, Duration),
}

/// The queue was full; the entry was not queued.
#[derive(Debug)]
pub(crate) struct Full;

/// The sending side, shared by every task that sends to the session. It lives in the
/// session's own `Socket`, so a broadcast reaches it without another pointer to follow.
#[derive(Debug)]
pub(crate) struct Queue {
    capacity: usize,
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    entries: VecDeque<Outbound>,
    /// The transport's waker while it waits for an entry, and only then.
    waiting: Option<Waker>,
}

impl Queue {
    /// A queue holding at most `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Queue {
        Queue {
            capacity,
            state: Mutex::new(QueueState::default()),
        }
    }

    /// Queues `entry` unless `capacity` entries are waiting already; never waits.
    pub(crate) fn push(&self, entry: Outbound) -> Result<(), Full> {
        let waiting = {
            let mut state = self.lock();
            if state.entries.len() >= self.capacity {
                return Err(Full);
            }
            state.entries.push_back(entry);
            state.waiting.take()
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
        Ok(())
    }

    /// Whether one more entry would be taken now.
    pub(crate) fn has_room(&self) -> bool {
        self.lock().entries.len() < self.capacity
    }

    fn pop(state: &mut QueueState) -> Option<Outbound> {
        let entry = state.entries.pop_front()?;
        if state.entries.is_empty() && state.entries.capacity() > KEPT_CAPACITY {
            state.entries = VecDeque::new();
        }
        Some(entry)
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // The state stays consistent whatever a panicking holder did: each change is one call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Waits for the next entry; forgets the waker when dropped before one came.
struct Next<'a> {
    queue: &'a Queue,
    registered: bool,
}

impl Future for Next<'_> {
    type Output = Outbound;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outbound> {
        let mut state = self.queue.lock();
        if let Some(entry) = Queue::pop(&mut state) {
            state.waiting = None;
            drop(state);
            self.registered = false;
            return Poll::Ready(entry);
        }
        match &mut state.waiting {
            Some(waker) => waker.clone_from(cx.waker()),
            none => *none = Some(cx.waker().clone()),
        }
        drop(state);
        self.registered = true;
        Poll::Pending
    }
}

impl Drop for Next<'_> {
    fn drop(&mut self) {
        if self.registered {
            self.queue.lock().waiting = None;
        }
    }
}

/// What the transport that writes to the client keeps between frames: the rest of a group
/// whose first frame was handed out, and the pause asked for after the last one.
#[derive(Debug, Default)]
pub(crate) struct Carry {
    frames: VecDeque<Frame>,
    pause: Option<Duration>,
}

/// Hands out queued frames one by one: the queue, with the [`Carry`] of the transport that
/// holds it (behind the socket's lock), so frames of a group come out consecutively.
#[derive(Debug)]
pub(crate) struct Outbox<'a> {
    queue: &'a Queue,
    carry: TransportGuard<'a, Carry>,
}

impl<'a> Outbox<'a> {
    pub(crate) fn new(queue: &'a Queue, carry: TransportGuard<'a, Carry>) -> Self {
        Outbox { queue, carry }
    }

    /// Waits for the next frame. Cancel-safe: nothing is lost if the future is dropped.
    pub(crate) async fn recv(&mut self) -> Frame {
        if let Some(frame) = self.carry.frames.pop_front() {
            return frame;
        }
        let entry = Next {
            queue: self.queue,
            registered: false,
        }
        .await;
        self.unpack(entry)
    }

    /// The next frame, if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<Frame> {
        if let Some(frame) = self.carry.frames.pop_front() {
            return Some(frame);
        }
        let entry = Queue::pop(&mut self.queue.lock())?;
        Some(self.unpack(entry))
    }

    /// The pause asked for after the frame handed out last, once.
    pub(crate) fn take_pause(&mut self) -> Option<Duration> {
        self.carry.pause.take()
    }

    fn unpack(&mut self, entry: Outbound) -> Frame {
        self.carry.pause = None;
        match entry {
            Outbound::Frame(frame) => frame,
            Outbound::Paced(frame, pause) => {
                self.carry.pause = Some(pause);
                frame
            }
            Outbound::Group(frames) => {
                // Groups are never empty: `Socket::send_group` refuses empty ones.
                self.carry.frames.extend(frames.iter().skip(1).cloned());
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
        let queue = Queue::new(8);
        let carry = tokio::sync::Mutex::default();
        let mut outbox = Outbox::new(&queue, carry.lock().await);
        queue.push(Outbound::Frame(Frame::message("a"))).unwrap();
        let group: Arc<[Frame]> = vec![Frame::message("b"), Frame::Binary(vec![1].into())].into();
        queue.push(Outbound::Group(group)).unwrap();
        queue.push(Outbound::Frame(Frame::message("c"))).unwrap();
        let mut seen = vec![outbox.recv().await];
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

    /// Counts how often it is woken.
    #[derive(Default)]
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn wakes(waker: &Arc<CountingWaker>) -> usize {
        waker.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn only_a_waiting_receiver_is_woken() {
        let queue = Queue::new(8);
        let carry = tokio::sync::Mutex::default();
        let mut outbox = Outbox::new(&queue, carry.try_lock().unwrap());
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        {
            let mut next = std::pin::pin!(outbox.recv());
            assert!(next.as_mut().poll(&mut cx).is_pending());
            queue.push(Outbound::Frame(Frame::message("a"))).unwrap();
            assert_eq!(
                wakes(&counter),
                1,
                "a push wakes the receiver waiting for it"
            );
            assert_eq!(next.poll(&mut cx), Poll::Ready(Frame::message("a")));
        }
        {
            // A receiver that stopped waiting (another branch of its select won) is not
            // woken by what is queued afterwards.
            let mut next = std::pin::pin!(outbox.recv());
            assert!(next.as_mut().poll(&mut cx).is_pending());
        }
        queue.push(Outbound::Frame(Frame::message("b"))).unwrap();
        assert_eq!(wakes(&counter), 1);
        assert_eq!(outbox.try_recv(), Some(Frame::message("b")));
    }

    #[test]
    fn a_full_queue_refuses_and_a_burst_is_given_back() {
        let queue = Queue::new(100);
        let carry = tokio::sync::Mutex::default();
        let mut outbox = Outbox::new(&queue, carry.try_lock().unwrap());
        for i in 0..100 {
            queue
                .push(Outbound::Frame(Frame::message(&i.to_string())))
                .unwrap();
        }
        assert!(queue.push(Outbound::Frame(Frame::message("x"))).is_err());
        assert!(queue.lock().entries.capacity() >= 100);
        for i in 0..100 {
            assert_eq!(outbox.try_recv(), Some(Frame::message(&i.to_string())));
        }
        assert_eq!(outbox.try_recv(), None);
        assert_eq!(queue.lock().entries.capacity(), 0);
        queue.push(Outbound::Frame(Frame::message("y"))).unwrap();
    }
}

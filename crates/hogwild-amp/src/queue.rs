//! The engine's queue: FIFO under constant delays, a min-heap on `(arrival time, order of
//! sending)` under random delays.

use crate::delays::Delays;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// A message on its way.
pub(crate) struct Pending<M> {
    pub(crate) receiver: usize,
    pub(crate) sender: Option<usize>,
    pub(crate) time: f64,
    pub(crate) seq: u64,
    pub(crate) message: M,
}

impl<M> Pending<M> {
    fn key(&self) -> (f64, u64) {
        (self.time, self.seq)
    }
}

impl<M> PartialEq for Pending<M> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<M> Eq for Pending<M> {}

impl<M> PartialOrd for Pending<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<M> Ord for Pending<M> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        let (t, s) = self.key();
        let (u, r) = other.key();
        u.total_cmp(&t).then(r.cmp(&s))
    }
}

pub(crate) enum Queue<M> {
    Fifo(VecDeque<Pending<M>>),
    Heap(BinaryHeap<Pending<M>>),
}

impl<M> Queue<M> {
    pub(crate) fn new(delays: Delays) -> Queue<M> {
        match delays {
            Delays::Constant => Queue::Fifo(VecDeque::new()),
            Delays::Random(_) => Queue::Heap(BinaryHeap::new()),
        }
    }

    pub(crate) fn push(&mut self, pending: Pending<M>) {
        match self {
            Queue::Fifo(q) => q.push_back(pending),
            Queue::Heap(h) => h.push(pending),
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Pending<M>> {
        match self {
            Queue::Fifo(q) => q.pop_front(),
            Queue::Heap(h) => h.pop(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Queue::Fifo(q) => q.len(),
            Queue::Heap(h) => h.len(),
        }
    }
}

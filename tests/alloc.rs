//! The framer allocates nothing per telegram: once its buffer has grown to the largest
//! telegram seen, framing and CRC-checking a whole recording performs no heap allocation.
//! Checked with a counting global allocator (this file is its own test binary so that the
//! allocator sees only this test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use dsmrd::frame::{CrcStatus, Event, Frame, Framer};

/// Counts allocations made by the thread that turned counting on.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call is passed on unchanged to the system allocator; counting only touches
// const-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Frame `input` in chunks of `chunk` bytes; returns (valid telegrams, other events).
fn frame_all(framer: &mut Framer, input: &[u8], chunk: usize) -> (usize, usize) {
    let (mut valid, mut other) = (0, 0);
    for part in input.chunks(chunk) {
        let mut rest = part;
        while !rest.is_empty() {
            let (n, event) = framer.feed(rest);
            rest = &rest[n..];
            match event {
                Some(Event::Frame(Frame::Plain { crc: CrcStatus::Valid(_), .. })) => valid += 1,
                Some(_) => other += 1,
                None => {}
            }
        }
    }
    (valid, other)
}

#[test]
fn framing_a_recording_allocates_nothing_after_warm_up() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/Iskra-AM550-M550T-1012-recording_dsmr5.0_dsmrtools.txt");
    let input = std::fs::read(path).expect("recording");
    let mut framer = Framer::default();
    // Warm-up: the buffer grows to the largest telegram.
    assert_eq!(frame_all(&mut framer, &input, input.len()), (566, 0));

    COUNTING.with(|c| c.set(true));
    let mut results = [(0, 0); 4];
    for (result, chunk) in results.iter_mut().zip([input.len(), 4096, 61, 1]) {
        *result = frame_all(&mut framer, &input, chunk);
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(Cell::get);

    assert_eq!(results, [(566, 0); 4]);
    assert_eq!(allocations, 0, "the framer allocated {allocations} times for {} telegrams", 4 * 566);
}

#[test]
fn the_counter_sees_allocations() {
    COUNTING.with(|c| c.set(true));
    let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(64));
    COUNTING.with(|c| c.set(false));
    drop(v);
    assert!(ALLOCATIONS.with(Cell::get) >= 1);
}

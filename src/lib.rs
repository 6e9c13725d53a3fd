//! dsmrd reads a smart meter's P1 port and sends every reading where its owner wants it.
//!
//! Data flows one way, and the modules follow it:
//!
//! ```text
//! source bytes ─▶ frame (framer + CRC) ─▶ smarty (decrypt 0xDB frames)
//!              ─▶ parse (lines, detect, spec tables) ─▶ telegram (typed values)
//!              ─▶ json / table (output forms)
//! ```
//!
//! [`decoder::Decoder`] chains the first stages for any byte stream. The service adds:
//!
//! ```text
//! config ─▶ source (serial, tcp, replay, stdin) ─▶ decoder ─▶ readings
//!        ─▶ pipeline (fan-out, throttle, queue, retry) ─▶ sinks (dsmrd-sinks crate)
//! ```
//!
//! [`daemon::run`] wires them together.

// The exceptions, each with its invariant and safety argument: `lines::between_ascii`,
// `parse::ascii_text`, `parse::Lines::slot`, `cli::run_cmd::hangup_ignored`,
// `cli::port_input::is_port` and `cli::port_input::output_gone`.
#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub mod daemon;
pub mod decoder;
pub mod detect;
pub mod field_names;
pub mod frame;
pub mod json;
mod lines;
pub mod obis;
pub mod parse;
pub mod pipeline;
mod quick;
pub mod readings;
pub mod smarty;
pub mod source;
pub mod spec;
pub mod table;
pub mod telegram;
mod throttle;
pub mod time;
pub mod value;

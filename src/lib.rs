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
//! [`decoder::Decoder`] chains the first stages for any byte stream.

pub mod cli;
pub mod decoder;
pub mod detect;
pub mod frame;
pub mod json;
pub mod obis;
pub mod parse;
pub mod smarty;
pub mod spec;
pub mod table;
pub mod telegram;
pub mod time;
pub mod value;

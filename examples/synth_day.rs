//! Writes a synthetic DSMR 5 capture for benchmarks: one telegram per second (default
//! 86,400 = a day), three phases, a gas meter, valid CRCs, counters that only grow.
//!
//! `cargo run --release --example synth_day -- target/day.txt [COUNT]`

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "target/day.txt".to_string());
    let count: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(86_400);
    let mut out = BufWriter::new(std::fs::File::create(&path)?);
    // 2024-01-15 00:00:00 local winter time, one telegram per second.
    let (mut t1, mut t2) = (1_234_567u64, 2_345_678u64); // Wh
    for i in 0..count {
        let secs = i % 86_400;
        let day = 15 + i / 86_400;
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        let power = 200 + (i * 37 % 900); // W
        if !(7..23).contains(&h) {
            t1 += power / 3600 + 1
        } else {
            t2 += power / 3600 + 1
        }
        let gas_hour = h;
        let body = format!(
            "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(2401{day:02}{h:02}{m:02}{s:02}W)\r\n\
0-0:96.1.1(4530303434303037313331363530363138)\r\n1-0:1.8.1({:06}.{:03}*kWh)\r\n1-0:1.8.2({:06}.{:03}*kWh)\r\n\
1-0:2.8.1(000000.000*kWh)\r\n1-0:2.8.2(000000.000*kWh)\r\n0-0:96.14.0(000{})\r\n1-0:1.7.0({:02}.{:03}*kW)\r\n\
1-0:2.7.0(00.000*kW)\r\n0-0:96.7.21(00005)\r\n0-0:96.7.9(00003)\r\n\
1-0:99.97.0(1)(0-0:96.7.19)(180417201458S)(0000000236*s)\r\n1-0:32.32.0(00001)\r\n1-0:52.32.0(00001)\r\n\
1-0:72.32.0(00001)\r\n1-0:32.36.0(00001)\r\n1-0:52.36.0(00001)\r\n1-0:72.36.0(00001)\r\n0-0:96.13.0()\r\n\
1-0:32.7.0(23{}.{}*V)\r\n1-0:52.7.0(234.5*V)\r\n1-0:72.7.0(236.0*V)\r\n1-0:31.7.0(00{}*A)\r\n1-0:51.7.0(000*A)\r\n\
1-0:71.7.0(002*A)\r\n1-0:21.7.0({:02}.{:03}*kW)\r\n1-0:41.7.0(00.010*kW)\r\n1-0:61.7.0(00.379*kW)\r\n\
1-0:22.7.0(00.000*kW)\r\n1-0:42.7.0(00.000*kW)\r\n1-0:62.7.0(00.000*kW)\r\n0-1:24.1.0(003)\r\n\
0-1:96.1.0(4730303336303031363036333230353137)\r\n0-1:24.2.1(2401{day:02}{gas_hour:02}0000W)({:05}.{:03}*m3)\r\n!",
            t1 / 1000,
            t1 % 1000,
            t2 / 1000,
            t2 % 1000,
            if !(7..23).contains(&h) { 1 } else { 2 },
            power / 1000,
            power % 1000,
            i % 10,
            i % 7,
            i % 10,
            power / 1000,
            power % 1000,
            1000 + i / 3600,
            i % 1000,
        );
        let crc = dsmrd::frame::crc16(body.as_bytes());
        write!(out, "{body}{crc:04X}\r\n")?;
    }
    out.flush()?;
    eprintln!("wrote {count} telegrams to {path}");
    Ok(())
}

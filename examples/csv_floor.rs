//! The speed floor for `scripts/bench-bias.sh`: read every record of a CSV
//! file with the `csv` crate and check its field count, nothing else. No
//! analysis can read the same file faster than this.

fn main() {
    let path = std::env::args().nth(1).expect("usage: csv_floor FILE.csv");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&path)
        .expect("open");
    let mut record = csv::ByteRecord::new();
    let (mut rows, mut width) = (0u64, None);
    while reader.read_byte_record(&mut record).expect("read") {
        let w = *width.get_or_insert(record.len());
        assert_eq!(record.len(), w, "ragged row {rows}");
        rows += 1;
    }
    println!("{rows} rows");
}

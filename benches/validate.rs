//! Criterion: the validation split alone (read → DataFusion rules → valid/invalid batches) on a
//! generated 100,000-row file held in memory, against an anchor measured in the same run: the
//! `csv` crate merely parsing the same bytes. `split / parse` is the cost of everything csvgate
//! adds to reading. `csvgate_split_1m_department_keys` is the same split with a million more
//! department keys (none of them in the file, so the rows split alike): what a foreign key into
//! a large table costs, against `csvgate_split` and its 12.

use std::collections::HashMap;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use csvgate::dictionary::{Dictionary, Keys};
use csvgate::generate::write_employees;
use csvgate::validate::{self, Dialect, ReferenceIds};

const ROWS: u64 = 100_000;

fn employees_file() -> Vec<u8> {
    let mut bytes = Vec::new();
    write_employees(&mut bytes, ROWS, 42).expect("in-memory write");
    bytes
}

fn bench(c: &mut Criterion) {
    let bytes = employees_file();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let table = &Dictionary::hr_table("hired_employees");
    let references = HashMap::from([
        ("departments".to_owned(), Arc::new(Keys::from_iter(1..=12))),
        ("jobs".to_owned(), Arc::new(Keys::from_iter(1..=183))),
    ]);
    let mut group = c.benchmark_group("hired_employees_100k");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    group.bench_function("anchor_csv_parse", |b| {
        b.iter(|| {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes.as_slice());
            let mut record = csv::ByteRecord::new();
            let mut rows = 0u64;
            while reader.read_byte_record(&mut record).expect("parse") {
                rows += 1;
            }
            assert_eq!(rows, ROWS);
        })
    });
    let split_all = |references: &ReferenceIds| {
        runtime.block_on(async {
            let input = std::io::Cursor::new(bytes.clone());
            let mut split =
                validate::split("bench.csv", input, table, &Dialect::default(), references)
                    .await
                    .expect("split");
            let mut rows = (0, 0);
            while let Some(batch) = split.next().await {
                let batch = batch.expect("batch");
                rows.0 += batch.valid.num_rows();
                rows.1 += batch.invalid.num_rows();
            }
            split.finish().await.expect("reader");
            assert_eq!((rows.0 + rows.1) as u64, ROWS);
            rows
        })
    };
    group.bench_function("csvgate_split", |b| b.iter(|| split_all(&references)));
    let mut large = references.clone();
    let far_keys = (1..=1_000_000).map(|i| 1_000 + 2 * i);
    let departments = Keys::from_iter((1..=12).chain(far_keys));
    large.insert("departments".into(), Arc::new(departments));
    assert_eq!(
        split_all(&large),
        split_all(&references),
        "the same rows kept"
    );
    group.bench_function("csvgate_split_1m_department_keys", |b| {
        b.iter(|| split_all(&large))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! A typed table of columns, written as CSV (through polars) and as Parquet (through
//! arrow-rs, with plain `string` columns and file metadata).
//!
//! Parquet strings are written as plain UTF-8 (`string`), not as the `string_view` that
//! polars' own writer emits, which pyarrow before 16 cannot open and later versions cannot
//! filter; the files are made for every reader researchers use (pyarrow, pandas, polars,
//! DuckDB), and their key-value metadata carries what a reader needs to interpret them.

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use polars::prelude::*;
use std::sync::Arc;

/// One column's values, nulls where a value does not apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// UTF-8 text.
    Text(Vec<Option<String>>),
    /// Unsigned integers.
    UInt(Vec<Option<u64>>),
    /// Floats.
    Float(Vec<Option<f64>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Text(v) => v.len(),
            Values::UInt(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    /// The type's name in `schema.md`: the Parquet/Arrow logical type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Values::Text(_) => "string",
            Values::UInt(_) => "uint64",
            Values::Float(_) => "float64",
            Values::Bool(_) => "bool",
        }
    }
}

/// Named columns of equal length, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// The columns.
    pub columns: Vec<(&'static str, Values)>,
}

impl Frame {
    /// Appends a column.
    pub fn push(&mut self, name: &'static str, values: Values) {
        if let Some((_, first)) = self.columns.first() {
            assert_eq!(
                first.len(),
                values.len(),
                "column {name} has another length"
            );
        }
        self.columns.push((name, values));
    }

    /// Appends `other`'s rows; it must have the same columns (names and types) in the same
    /// order.
    pub fn append(&mut self, other: Frame) {
        assert_eq!(self.columns.len(), other.columns.len(), "other columns");
        for ((name, mine), (theirs_name, theirs)) in self.columns.iter_mut().zip(other.columns) {
            assert_eq!(*name, theirs_name, "other columns");
            match (mine, theirs) {
                (Values::Text(a), Values::Text(b)) => a.extend(b),
                (Values::UInt(a), Values::UInt(b)) => a.extend(b),
                (Values::Float(a), Values::Float(b)) => a.extend(b),
                (Values::Bool(a), Values::Bool(b)) => a.extend(b),
                _ => panic!("column {name} has another type"),
            }
        }
    }

    /// The rows.
    pub fn height(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// As a polars frame.
    pub fn to_polars(&self) -> PolarsResult<DataFrame> {
        let columns = self
            .columns
            .iter()
            .map(|(name, values)| {
                let name = PlSmallStr::from_str(name);
                match values {
                    Values::Text(v) => Column::new(name, v),
                    Values::UInt(v) => Column::new(name, v),
                    Values::Float(v) => Column::new(name, v),
                    Values::Bool(v) => Column::new(name, v),
                }
            })
            .collect();
        DataFrame::new(self.height(), columns)
    }

    /// As CSV (header, then one line per row; empty fields for nulls).
    pub fn to_csv(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = vec![];
        CsvWriter::new(&mut bytes).finish(&mut self.to_polars()?)?;
        Ok(bytes)
    }

    /// As a Parquet file with `metadata` (key, value) in its footer.
    pub fn to_parquet(&self, metadata: &[(&str, String)]) -> anyhow::Result<Vec<u8>> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, values)| {
                let dtype = match values {
                    Values::Text(_) => DataType::Utf8,
                    Values::UInt(_) => DataType::UInt64,
                    Values::Float(_) => DataType::Float64,
                    Values::Bool(_) => DataType::Boolean,
                };
                Field::new(*name, dtype, true)
            })
            .collect();
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|(_, values)| -> ArrayRef {
                match values {
                    Values::Text(v) => Arc::new(StringArray::from(v.clone())),
                    Values::UInt(v) => Arc::new(UInt64Array::from(v.clone())),
                    Values::Float(v) => Arc::new(Float64Array::from(v.clone())),
                    Values::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
                }
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), arrays)?;
        let properties = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_key_value_metadata(Some(
                metadata
                    .iter()
                    .map(|(k, v)| parquet::file::metadata::KeyValue::new(k.to_string(), v.clone()))
                    .collect(),
            ))
            .build();
        let mut bytes = vec![];
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, Some(properties))?;
        writer.write(&batch)?;
        writer.close()?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn frame() -> Frame {
        let mut f = Frame::default();
        f.push("name", Values::Text(vec![Some("a, b".into()), None]));
        f.push("n", Values::UInt(vec![Some(1), None]));
        f.push("x", Values::Float(vec![Some(0.1 + 0.2), Some(f64::NAN)]));
        f.push("ok", Values::Bool(vec![None, Some(true)]));
        f
    }

    #[test]
    fn csv_quotes_text_and_leaves_nulls_empty() {
        let csv = String::from_utf8(frame().to_csv().unwrap()).unwrap();
        assert_eq!(
            csv,
            "name,n,x,ok\n\"a, b\",1,0.30000000000000004,\n,,NaN,true\n"
        );
    }

    #[test]
    fn parquet_has_plain_strings_nulls_and_metadata() {
        let bytes = frame()
            .to_parquet(&[("hogwild.rule", "mean".into())])
            .unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes.clone())).unwrap();
        let meta = reader.metadata().file_metadata();
        let kv = meta.key_value_metadata().unwrap();
        assert!(kv
            .iter()
            .any(|k| k.key == "hogwild.rule" && k.value.as_deref() == Some("mean")));
        let schema = meta.schema_descr();
        let name = schema.column(0);
        assert_eq!(
            name.logical_type_ref(),
            Some(&parquet::basic::LogicalType::String)
        );
        assert_eq!(meta.num_rows(), 2);
        // The same bytes every time.
        assert_eq!(
            frame()
                .to_parquet(&[("hogwild.rule", "mean".into())])
                .unwrap(),
            bytes
        );
    }
}

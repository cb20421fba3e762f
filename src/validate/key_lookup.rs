//! The foreign-key rule as a set lookup: `"is_key_of_<table>"(value)` tells, row by row, whether
//! a value is one of the keys the referenced table holds. Writing the keys into the query as
//! `IN (…)` would make its text as long as the table (a million keys, a million literals) and
//! its planning as slow; the lookup probes the set itself ([`Keys`]: a bitmap for integers, a
//! hash set for text).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use crate::dictionary::Keys;

/// Keys present in each referenced table, by table name; shared, so that the compiled rules and
/// their lookups hold one set between them, however large.
pub type ReferenceIds = HashMap<String, Arc<Keys>>;

/// The lookup's name for `table`'s keys.
pub fn function_name(table: &str) -> String {
    format!("is_key_of_{table}")
}

/// Makes the lookup of each referenced table's keys callable from the split query.
pub fn register(ctx: &SessionContext, references: &ReferenceIds) {
    for (table, keys) in references {
        let lookup = IsKeyOf {
            name: function_name(table),
            keys: Arc::clone(keys),
            signature: Signature::any(1, Volatility::Immutable),
        };
        ctx.register_udf(ScalarUDF::new_from_impl(lookup));
    }
}

/// One table's keys, as a function of one value.
#[derive(Debug)]
struct IsKeyOf {
    name: String,
    keys: Arc<Keys>,
    signature: Signature,
}

/// Two lookups are the same when they hold the very same set.
impl PartialEq for IsKeyOf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.keys, &other.keys)
    }
}

impl Eq for IsKeyOf {}

impl Hash for IsKeyOf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        Arc::as_ptr(&self.keys).hash(state);
    }
}

impl ScalarUDFImpl for IsKeyOf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arguments: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = args.args[0].to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(Arc::new(
            self.keys.contains_each(&values),
        )))
    }
}

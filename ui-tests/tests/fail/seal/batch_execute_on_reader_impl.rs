include!("../../common/schema.rs");

// The bound that keeps `batch_execute` off readers cannot be met from outside.
impl diesel_route::__private::BatchExecuteOnReader for default {}

fn main() {}

include!("../../common/schema.rs");

// `default` is this crate's type, so the orphan rules would allow this impl: the seal of
// `WriteSource` refuses it.
impl diesel_route::WriteSource<default> for Reader<'_> {
    fn write_origin(
        &mut self,
        sealed: diesel_route::__private::Sealed,
    ) -> diesel_route::__private::Origin<'_, default> {
        diesel_route::ReadSource::<default>::read_origin(self, sealed)
    }
}

fn main() {}

include!("../../common/schema.rs");

/// A type of the user's own cannot become a connection source, to be handed the seal.
struct Thief;

impl diesel_route::ReadSource<default> for Thief {
    fn read_origin(
        &mut self,
        _: diesel_route::__private::Sealed,
    ) -> diesel_route::__private::Origin<'_, default> {
        unimplemented!()
    }
}

fn main() {}

//! Snapshots of what each macro expands to: a change to generated code shows as a diff of
//! these files (`cargo insta review`, or `INSTA_UPDATE=always cargo test -p
//! diesel-route-macros` and `git diff`).

use proc_macro2::TokenStream;
use quote::quote;

fn pretty(tokens: TokenStream) -> String {
    let file = syn::parse2(tokens).expect("the expansion is a list of items");
    prettyplease::unparse(&file)
}

#[test]
fn route_read() {
    let function = quote! {
        /// Titles.
        pub async fn titles(conn: &mut Reader, (offset, limit): (i64, i64), prefix: String) -> diesel_route::Result<Vec<String>> {
            Ok(posts::table.select(posts::title).offset(offset).limit(limit).load(conn).await?)
        }
    };
    insta::assert_snapshot!(pretty(crate::route::expand(quote!(read), function)));
}

#[test]
fn route_write_transaction() {
    let function = quote! {
        async fn publish(conn: &mut Writer<analytics>, id: i32) -> diesel_route::Result<usize> {
            Ok(diesel::update(posts::table.find(id)).set(posts::published.eq(true)).execute(conn).await?)
        }
    };
    let args = quote!(write, transaction, crate = "deps::routing");
    insta::assert_snapshot!(pretty(crate::route::expand(args, function)));
}

#[test]
fn route_with_mistakes_keeps_the_function() {
    let function = quote! {
        fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> { Ok(Vec::new()) }
    };
    insta::assert_snapshot!(pretty(crate::route::expand(
        quote!(read, retries = 3),
        function
    )));
}

#[test]
fn bind() {
    let model = quote! {
        #[derive(Queryable)]
        #[diesel(table_name = crate::schema::page_views)]
        pub struct PageView { pub id: i32 }
    };
    insta::assert_snapshot!(pretty(crate::bind::expand(quote!("analytics"), model)));
}

#[test]
fn databases() {
    let declaration = quote! {
        /// Posts and users.
        default: postgres,
        analytics: sqlite,
    };
    let expansion = crate::databases::expand(declaration).expect("a valid declaration");
    insta::assert_snapshot!(pretty(expansion));
}

#[test]
fn tables() {
    let expansion = crate::tables::expand(quote!(default: posts, schema::users));
    insta::assert_snapshot!(pretty(expansion.expect("a valid list")));
}

#[test]
fn route_read_method_with_a_router() {
    let function = quote! {
        async fn overview(&mut self, conn: &mut Reader, router: &mut Router, session: Session) -> diesel_route::Result<()> {
            self.calls += 1;
            Ok(())
        }
    };
    insta::assert_snapshot!(pretty(crate::route::expand(quote!(read), function)));
}

#[test]
fn route_with_a_bad_argument_is_still_generated() {
    let function = quote! {
        async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> { Ok(Vec::new()) }
    };
    insta::assert_snapshot!(pretty(crate::route::expand(
        quote!(read, retries = 3),
        function
    )));
}

#[test]
fn databases_with_a_crate_path() {
    let declaration = quote! {
        crate = "deps::routing";
        default: postgres,
    };
    let expansion = crate::databases::expand(declaration).expect("a valid declaration");
    insta::assert_snapshot!(pretty(expansion));
}

#[test]
fn tables_with_a_crate_path() {
    let expansion = crate::tables::expand(quote!(crate = "deps::routing"; default: posts));
    insta::assert_snapshot!(pretty(expansion.expect("a valid list")));
}

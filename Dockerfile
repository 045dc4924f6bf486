# syntax=docker/dockerfile:1
#
# keyscan in a small image: one static (musl) binary on an empty base, no
# shell, no package manager, running as an unprivileged user.
#
#   docker build -t keyscan .
#   docker run --rm -v "$PWD:/src" keyscan                # tree scan of /src
#   docker run --rm -v "$PWD:/src" keyscan --history      # git history
#   docker run --rm -v "$PWD:/src" --user "$(id -u):$(id -g)" keyscan --fix
#
# Two final stages: `image` (the default) compiles keyscan here; `prebuilt`
# packs the release workflow's static binaries (dist/docker/amd64/keyscan,
# dist/docker/arm64/keyscan), so a multi-platform image needs no emulated
# compile: `docker buildx build --target prebuilt --platform linux/amd64,linux/arm64 .`

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS build
# A C compiler and musl headers for libgit2 and zlib, which are compiled in.
RUN apk add --no-cache gcc musl-dev
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY rules ./rules
# musl targets link statically by default; strip the symbols the release
# profile keeps for profiling.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --release --locked \
 && ./target/release/keyscan --version \
 && install -D -m 0755 target/release/keyscan /out/keyscan

FROM scratch AS prebuilt
ARG TARGETARCH
COPY --chmod=0755 dist/docker/${TARGETARCH}/keyscan /usr/local/bin/keyscan
COPY docker/gitconfig /etc/gitconfig
# No /etc/passwd in the image: HOME only tells libgit2 and the gitignore
# reader where a user's global configuration would be (there is none).
ENV HOME=/home/keyscan
USER 65532:65532
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/keyscan"]
CMD ["."]

FROM scratch AS image
COPY --from=build /out/keyscan /usr/local/bin/keyscan
COPY docker/gitconfig /etc/gitconfig
ENV HOME=/home/keyscan
USER 65532:65532
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/keyscan"]
CMD ["."]

# Caddy with the upstream_errors module, built from this checkout:
#
#	docker build -f xcaddy.Dockerfile -t caddy-upstream-errors .
#
# Both images are pinned to the Caddy release in go.mod, which
# dockerfile_test.go checks, along with running the xcaddy build below.
FROM caddy:2.11.9-builder AS builder

# go.mod may ask for a newer Go than the image has; fetch it if so
ENV GOTOOLCHAIN=auto

COPY . /src

# The module's code comes from /src. The version before it is only a
# placeholder: naming one spares go a lookup of the latest release, which
# a module proxy that does not know the module may refuse.
RUN xcaddy build \
	--with github.com/caddy-upstream-errors/caddy-upstream-errors@v0.0.0=/src \
	--output /usr/bin/caddy

FROM caddy:2.11.9

COPY --from=builder /usr/bin/caddy /usr/bin/caddy

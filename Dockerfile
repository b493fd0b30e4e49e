# A small image holding only the doppel binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/doppel ./cmd/doppel

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/doppel /usr/local/bin/doppel
ENTRYPOINT ["/usr/local/bin/doppel"]

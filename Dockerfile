FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY core core
COPY handlers handlers
COPY config config
RUN pip install --no-cache-dir .
ENV SHOPKEEP_DATA_DIR=/data \
    SHOPKEEP_HTTP_LISTEN=0.0.0.0:8080 \
    SHOPKEEP_SMTP_LISTEN=0.0.0.0:2525
VOLUME /data
EXPOSE 8080 2525
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
CMD ["shopkeep", "serve"]

"""Local development stack (Kafka KRaft + Apicurio Registry); see stack/README.md and stack/localstack.py."""

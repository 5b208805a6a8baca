# Import by the application's object id or its client id (appId); the provider says
# which one it found. The next apply brings the application to the connectors' needs.
terraform import psoxy_msft_connector.outlook_cal 00000000-0000-4000-8000-00000000e001

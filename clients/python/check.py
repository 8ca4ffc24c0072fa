"""The generated Python client (openapi-python-client) against a live sandbox: it imports,
logs in and reads the mapping grid as typed models. Run by scripts/check-typed-clients.sh with
the generated package on sys.path."""

import os

from bridge_client import AuthenticatedClient, Client
from bridge_client.api.auth import login
from bridge_client.api.products import list_product_mappings
from bridge_client.models import LoginRequest, MappingGrid, LoginResponse

base = os.environ["BRIDGE_URL"]
answer = login.sync(
    client=Client(base_url=base),
    body=LoginRequest(username="admin", password=os.environ["ADMIN_PASSWORD"]),
)
assert isinstance(answer, LoginResponse), answer
client = AuthenticatedClient(base_url=base, token=answer.access_token)
grid = list_product_mappings.sync(client=client)
assert isinstance(grid, MappingGrid), grid
assert grid.mappings, "the grid is empty"
print(f"python client: logged in, the grid has {len(grid.mappings)} applications")

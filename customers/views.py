from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from . import selectors
from .models import Customer


@login_required
def customer_list(request):
    customers = selectors.customer_list(user=request.user, search=request.GET.get("q", ""))[:50]
    return render(request, "customers/customer_list.html", {"customers": customers})


@login_required
def customer_detail(request, pk: int):
    try:
        customer = selectors.customer_get(user=request.user, customer_id=pk)
    except Customer.DoesNotExist:
        raise Http404 from None
    return render(request, "customers/customer_detail.html", {"customer": customer})
